"""CrowdSec's Local API, both directions.

Bouncers (firewall, nginx, HAProxy...) pull this member's blocks as CrowdSec
decisions (:mod:`.bouncer_api`); CrowdSec log processors push their alerts,
which become this member's signals (:mod:`.watcher_api`). The contract is
CrowdSec 1.4.6's, as its Debian 12 clients expect it.

Pure halves: :mod:`.goduration`, :mod:`.decision`, :mod:`.filters`,
:mod:`.delta`, :mod:`.alerts`, :mod:`.tokens`, :mod:`.firewall_setup`
(rendering). I/O: :mod:`.journal` and :mod:`.machines` (SQLite),
:mod:`.bouncer_feed` (follows the block store), :mod:`.outbox` (the hub link),
the two Starlette apps (:mod:`.bouncer_api`, :mod:`.watcher_api` with
:mod:`.gateway_app`), and :mod:`.server` (uvicorn, loopback unless TLS).
"""
