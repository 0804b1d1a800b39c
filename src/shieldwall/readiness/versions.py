"""R5 (packs and policy current) and R8 (last drill passed): what the alliance last proved.

Both are judged against what the hub said in its last heartbeat answer (the
alliance's pack versions; its last drill and this member's part in it). Without
an answer they are "unknown", degraded with a reason, never ok.

R8 on an alliance that never drilled is ok, with a note: a new alliance cannot have
proven its chain yet, and calling every member of it not ready would teach people
to ignore readiness. Once the alliance has drilled, a member without a result (not
chosen, or it did not answer) is degraded, one whose last drill failed is failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shieldwall.readiness.verdict import Check, Thresholds, ago, checker

_R5, _R8 = checker("R5", "packs and policy current"), checker("R8", "last drill passed")


@dataclass(frozen=True)
class VersionView:
    """This member's pack versions (name -> digest) and the alliance's, when known."""

    local: Mapping[str, str] = field(default_factory=dict)
    #: Packs this member could not load (name -> why).
    errors: Mapping[str, str] = field(default_factory=dict)
    alliance: Mapping[str, str] | None = None
    policy_local: str | None = None
    policy_alliance: str | None = None


def check_versions(view: VersionView) -> Check:
    """R5: every pack this member runs matches the alliance's version of it."""
    if view.errors:
        name, why = next(iter(sorted(view.errors.items())))
        return _R5("failing", f"pack {name} cannot be loaded: {why}")
    mine = ", ".join(f"{n}@{d[:12]}" for n, d in sorted(view.local.items())) or "none"
    if view.alliance is None:
        return _R5("degraded", f"the alliance's pack versions are unknown to this member (no"
                               f" heartbeat answer from the hub yet: is the agent running?);"
                               f" packs here: {mine}")
    stale = [n for n, d in sorted(view.local.items()) if view.alliance.get(n, d) != d]
    if stale:
        name = stale[0]
        return _R5("degraded", f"pack {name} here is {view.local[name][:12]}, the alliance runs"
                               f" {view.alliance[name][:12]}: update shieldwall or the pack file"
                               f" ({len(stale)} packs differ)")
    if view.policy_alliance is not None and view.policy_local != view.policy_alliance:
        return _R5("degraded", f"policy version here {view.policy_local or 'unknown'}, the"
                               f" alliance's {view.policy_alliance}: restart the agent to fetch it")
    return _R5("ok", f"packs match the alliance's: {mine}")


@dataclass(frozen=True)
class DrillView:
    """The last drill this member took part in."""

    passed: bool
    at: float
    detail: str = ""
    id: str = ""


def check_drill(view: DrillView | None, now: float, limits: Thresholds,
                alliance_drilled: bool | None = None) -> Check:
    """R8: the last drill passed, and recently enough to still prove the chain.

    ``alliance_drilled`` is whether the alliance ever ran a drill (``None``: unknown).
    """
    if view is None:
        if alliance_drilled is False:
            return _R8("ok", "no drill yet: this alliance has never run one (the hub operator"
                             " proves the chain with `shieldwall drill run`)")
        if alliance_drilled:
            return _R8("degraded", "the alliance has drilled, but this member has no drill"
                                   " result (not chosen, or it did not answer): ask the hub"
                                   " operator for `shieldwall drill run --members` with it")
        return _R8("degraded", "no drill known: the chain detect -> block has not been proven"
                               " on this member (no heartbeat answer from the hub yet)")
    age = now - view.at
    detail = f": {view.detail}" if view.detail else ""
    if not view.passed:
        return _R8("failing", f"the last drill ({ago(age)} ago) failed{detail}")
    if age > limits.drill_age:
        return _R8("degraded", f"the last drill passed {ago(age)} ago, longer than"
                               f" {ago(limits.drill_age)}: run a new one")
    return _R8("ok", f"the last drill passed {ago(age)} ago{detail}")
