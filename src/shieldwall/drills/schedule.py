"""Scheduled drills (hub.toml ``drill_every``): when the next one is due, and its order.

Pure: the hub's drill desk passes the time of the newest order in the journal, the
active members and fresh randomness; it signs and journals what this returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from shieldwall.drills.order import STAGES, OrderBody

#: Scheduled drills live this long (the order's TTL): ample for every stage's limit.
SCHEDULED_TTL = 120
#: TEST-NET-2 (RFC 5737): scheduled drills pick an address in it.
SCHEDULED_NET = "198.51.100"


def due(every: float, last: float | None, now: float) -> bool:
    """Whether a scheduled drill is due: ``every`` seconds after the newest order (any kind)."""
    return every > 0 and (last is None or now - last >= every)


def scheduled_order(members: Sequence[str], now: float, token: str, host: int) -> OrderBody | None:
    """The order of a scheduled drill on ``members`` (``None``: nobody to drill).

    ``token`` (hex, 12 characters) names the drill; ``host`` (1-254) picks its address.
    """
    if not members:
        return None
    return OrderBody(id=f"drill-{token}", target=f"{SCHEDULED_NET}.{1 + host % 254}",
                     issued=int(now), ttl=SCHEDULED_TTL, members=tuple(members), stages=STAGES)
