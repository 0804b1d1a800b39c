"""Drills: exercise detect -> signal -> decide -> push -> enforce on every member at once.

Only documentation addresses are ever named (:data:`~shieldwall.addresses.DRILL_RANGES`),
so a drill writes real firewall elements that harm no one.

Pure core:

- :mod:`.order`: the signed drill order and every member's reasons to refuse one.
- :mod:`.authority`: who may order one (the hub's key; under a council, its chair).
- :mod:`.stage`: a member's signed report of one stage.
- :mod:`.inject`: synthetic attack lines through the member's real pack and scenarios.
- :mod:`.conduct`: the hub's side of one drill (decide, lift, stop conditions).
- :mod:`.report`: the drill report (per member and stage; p50/p99 detection -> block).
- :mod:`.schedule`: when a scheduled drill (hub.toml ``drill_every``) is due, and its order.

I/O edges: :mod:`.journal` (orders, stages and reports in the ledger's journal),
:mod:`.hub_desk` (the hub's supervised conductor task, on every replica),
:mod:`.hub_schedule` (scheduled drills; the chair's standing order under a council),
:mod:`.hub_routes` (the two endpoints and the lifespan),
:mod:`.member` (the agent's drills task and its hook),
:mod:`.arrivals` (drill decisions as the agent applied them, read back at once).
"""
