"""The difference between the blocks we want and the blocks the firewall holds.

Pure. A :class:`Plan` is one transaction's worth of change: elements to remove,
elements to (re)add with their remaining time, or a full rebuild when the table
itself is damaged. Renderers (``nft_ruleset``) turn it into a batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from shieldwall.addresses import is_range, target_network
from shieldwall.enforcers.block import Block

#: Two expiries closer than this are the same (``nft -j`` reports whole seconds).
EXPIRY_TOLERANCE = 2.0


@dataclass(frozen=True, slots=True)
class Plan:
    """One transaction: remove ``remove``, replace the ranges, then add ``add``.

    With ``rebuild`` the table is deleted and recreated in the same transaction
    and ``add`` holds every element it must contain. ``ranges``, when not
    ``None``, replaces the whole content of the range sets: nft refuses a batch
    that deletes a range and adds an overlapping one (its overlap check does
    not see the delete), but accepts a flush followed by the new ranges.
    """

    add: tuple[Block, ...] = ()
    remove: tuple[str, ...] = ()
    rebuild: bool = False
    ranges: tuple[Block, ...] | None = None

    def __bool__(self) -> bool:
        return self.rebuild or bool(self.add) or bool(self.remove) or self.ranges is not None

    def summary(self) -> str:
        """One line for logs and ``--dry-run``."""
        head = "rebuild table, " if self.rebuild else ""
        tail = "" if self.ranges is None else f", replace ranges with {len(self.ranges)}"
        return f"{head}add {len(self.add)}, remove {len(self.remove)}{tail}"


def firewall_blocks(desired: Mapping[str, Block], now: float) -> dict[str, Block]:
    """The subset of ``desired`` to put in the firewall's sets at ``now``.

    Expired blocks are dropped. A range nested inside another active range is
    left out, because an interval set refuses overlapping elements; the outer
    range already drops its traffic. (If the inner one outlives the outer, it
    returns at the next reconcile after the outer expires.) Single addresses live
    in their own hash sets and never conflict with ranges.
    """
    active = {t: b for t, b in desired.items() if b.until > now}
    ranges = sorted((target_network(t) for t in active if is_range(t)), key=lambda n: n.prefixlen)
    kept: set[tuple[int, int, int]] = set()  # (version, network int, prefixlen)
    for net in ranges:
        base = int(net.network_address)
        bits = net.max_prefixlen
        covered = False
        for length in {p for _, _, p in kept if p < net.prefixlen}:
            mask = ((1 << length) - 1) << (bits - length)
            if (net.version, base & mask, length) in kept:
                covered = True
                break
        if covered:
            del active[str(net)]
        else:
            kept.add((net.version, base, net.prefixlen))
    return active


def same_expiry(a: float, b: float, tolerance: float = EXPIRY_TOLERANCE) -> bool:
    """True when two expiries are equal within ``tolerance`` seconds."""
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tolerance


def plan_changes(
    desired: Mapping[str, Block],
    actual: Mapping[str, float] | None,
    now: float,
    tolerance: float = EXPIRY_TOLERANCE,
) -> Plan:
    """The plan that turns ``actual`` (target -> until, as read) into ``desired``.

    ``actual=None`` means the table is missing or damaged: rebuild it whole.
    Elements whose expiry differs are removed and re-added in the same batch,
    since re-adding an existing element does not change its timeout. Expiries
    within ``tolerance`` seconds are equal (widen it by however long reading
    the table took, since each element's remaining time was read at a
    different moment).
    """
    want = firewall_blocks(desired, now)
    if actual is None:
        return Plan(add=tuple(want.values()), rebuild=True)
    add: list[Block] = []
    remove: list[str] = []
    replace_ranges = False
    for target, block in want.items():
        held = actual.get(target)
        if held is None:
            add.append(block)
        elif not same_expiry(held, block.until, tolerance):
            replace_ranges = replace_ranges or is_range(target)
            remove.append(target)
            add.append(block)
    gone = [t for t in actual if t not in want]
    remove.extend(gone)
    if not (replace_ranges or any(is_range(t) for t in gone)):
        # Only new ranges: they cannot overlap the ones in place (the view is unnested).
        return Plan(add=tuple(add), remove=tuple(remove))
    return Plan(
        add=tuple(b for b in add if not is_range(b.target)),
        remove=tuple(t for t in remove if not is_range(t)),
        ranges=tuple(b for t, b in want.items() if is_range(t)),
    )

