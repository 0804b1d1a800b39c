"""R3: the kernel table holds what the block store says (read back, never assumed).

Counts are compared in full; targets are compared on a sample of the store (every
one with ``full``). Blocks that expire within :data:`EXPIRY_TOLERANCE` of ``now``
are left out of both sides: the kernel and the store may each have dropped them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from shieldwall.addresses import Ranges, target_network
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nft_ruleset import TableState
from shieldwall.enforcers.plan import EXPIRY_TOLERANCE, firewall_blocks
from shieldwall.readiness.verdict import Check, checker, plural

_R3 = checker("R3", "enforcer verified")
_FIX = "run `shieldwall enforce apply` (or restart the agent) to rebuild it"


@dataclass(frozen=True)
class EnforcementView:
    """The configured enforcer, the store's active blocks and the table as read."""

    backend: str = "nftables"
    dry_run: bool = False
    desired: Mapping[str, Block] | None = field(default=None, repr=False)
    #: The table as read; ``None`` when it does not exist.
    table: TableState | None = field(default=None, repr=False)
    #: The store or the table could not be read (why).
    error: str | None = None
    #: This member's allowlist (and own addresses): stored blocks it covers are never
    #: put in the table (the agent skips them), so they are not expected there.
    protected: Ranges | None = field(default=None, repr=False)


def _settled(targets: Mapping[str, float], now: float) -> set[str]:
    return {t for t, until in targets.items() if until - now > EXPIRY_TOLERANCE}


def check_table(
    view: EnforcementView, now: float, sample: int, full: bool = False, seed: int = 0
) -> Check:
    """R3, comparing ``sample`` store targets (chosen by ``seed``), or all with ``full``."""
    if view.dry_run or view.backend != "nftables":
        what = "dry run" if view.dry_run else f"backend {view.backend}"
        return _R3("degraded", f"nothing is enforced in the kernel here ({what}): decisions are"
                               " not applied to this host's traffic; set [enforce] backend ="
                               " \"nftables\" to enforce")
    if view.error is not None:
        return _R3("failing", f"cannot verify the table: {view.error}")
    desired = view.desired or {}
    if view.protected is not None:
        allow = view.protected
        desired = {t: b for t, b in desired.items()
                   if allow.protecting(target_network(t)) is None}
    want = firewall_blocks(desired, now)
    expected = _settled({t: b.until for t, b in want.items()}, now)
    if view.table is None:
        if expected:
            return _R3("failing", f"table inet shieldwall is missing but the store holds"
                                  f" {plural(len(expected), 'active block')}: none is enforced; {_FIX}")
        return _R3("degraded", "table inet shieldwall is missing (no block is due now); the"
                               " agent creates it when it starts: is it running?")
    if not view.table.intact:
        problems = "; ".join(view.table.problems[:3])
        return _R3("failing", f"table inet shieldwall is damaged ({problems}); {_FIX}")
    held = _settled(view.table.elements, now)
    if full:
        missing, extra = sorted(expected - held), sorted(held - expected)
        checked = f"all {plural(len(expected), 'block')}"
    else:
        chosen = random.Random(seed).sample(sorted(expected), min(sample, len(expected)))
        missing, extra = sorted(t for t in chosen if t not in held), []
        checked = f"{plural(len(held), 'element')} counted, {len(chosen)} sampled"
    if missing:
        return _R3("failing", f"{plural(len(missing), 'block')} of the store not in the table (e.g."
                              f" {', '.join(missing[:3])}; {checked}); {_FIX}")
    if extra:
        return _R3("failing", f"the table holds {plural(len(extra), 'element')} the store does not (e.g."
                              f" {', '.join(extra[:3])}); {_FIX}")
    if len(held) != len(expected):
        return _R3("failing", f"the table holds {plural(len(held), 'element')}, the store"
                              f" {plural(len(expected), 'active block')}; {_FIX}")
    return _R3("ok", f"table inet shieldwall holds the store's {plural(len(expected), 'block')}"
                     f" ({checked})")
