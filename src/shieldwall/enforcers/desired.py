"""From the decision log to the set of blocks this member should enforce.

Pure: decisions, the member's allowlist and ``now`` in; blocks out. The member's
allowlist always wins: a decision touching a protected network is logged and
skipped, never applied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shieldwall.decisions.decision import Decision
from shieldwall.enforcers.allowlist import Allowlist
from shieldwall.enforcers.block import Block, canonical_target, target_network
from shieldwall.errors import AddressError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A decision that was not turned into a block, and why."""

    cursor: int
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class Desired:
    """The blocks to enforce, keyed by canonical target, and what was skipped."""

    blocks: dict[str, Block]
    skipped: tuple[Skipped, ...] = ()


def desired_blocks(
    decisions: Iterable[Decision],
    allowlist: Allowlist,
    now: float,
    start: Mapping[str, Block] | None = None,
) -> Desired:
    """Fold decisions (in cursor order) onto ``start`` and return what stays active.

    A ``block`` sets its target's expiry (a later decision for the same target
    replaces the earlier one, so the hub can shorten as well as extend); a
    ``lift`` removes the target. Expired blocks are dropped. Targets that are not
    addresses, or that overlap the allowlist, are skipped with a reason.
    """
    blocks: dict[str, Block] = dict(start or {})
    skipped: list[Skipped] = []
    for decision in sorted(decisions, key=lambda d: d.cursor):
        try:
            target = canonical_target(decision.target)
        except AddressError:
            skipped.append(Skipped(decision.cursor, decision.target, "not an address or CIDR"))
            continue
        if decision.action == "lift":
            blocks.pop(target, None)
            continue
        label = allowlist.protects(target_network(target))
        if label is not None:
            reason = f"protected by the local allowlist ({label})"
            log.warning("decision %d for %s skipped: %s", decision.cursor, target, reason)
            skipped.append(Skipped(decision.cursor, target, reason))
            continue
        blocks[target] = Block(
            target=target,
            until=decision.until,
            origin=decision.origin,
            scenario=decision.scenario,
            created=decision.created,
        )
    active = {t: b for t, b in blocks.items() if b.until > now}
    return Desired(active, tuple(skipped))


def merge_blocks(*sources: Mapping[str, Block]) -> dict[str, Block]:
    """Union of block sets; for a target in several, the longest-lasting wins."""
    merged: dict[str, Block] = {}
    for source in sources:
        for target, block in source.items():
            held = merged.get(target)
            if held is None or block.until > held.until:
                merged[target] = block
    return merged
