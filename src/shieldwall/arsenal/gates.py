"""Promotion gates: what a rule's measured figures must show before it may enforce.

The gates are one council-signed target of the alliance's repository
(``gates.json``), so the hub (before it drafts a promotion) and every member
(before it enforces a promoted rule) check the same numbers against the same
report. A gate that is not met names the figure, its value and the bound.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shieldwall.arsenal.figures import Figures
from shieldwall.errors import ArsenalError

Count = Annotated[int, msgspec.Meta(ge=0)]
Share = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class Gate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The bounds for one promotion step."""

    min_detections: Count = 0
    min_members: Count = 0
    min_corroboration: Share = 0.0
    max_protected_hits: Count = 0
    max_lifted: Count = 0
    max_disputes: Count = 0


class Gates(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Gates per target status: ``test`` (from experimental) and ``stable`` (from test)."""

    test: Gate = Gate(min_detections=5, min_members=3)
    stable: Gate = Gate(min_detections=20, min_members=3, min_corroboration=0.3)
    #: The charter rule for an enforcing rule's harm: past any of these ``max_*`` bounds the
    #: hub puts it back in shadow at once (its ``min_*`` bounds are not used).
    demote: Gate = Gate(max_protected_hits=0, max_lifted=2, max_disputes=2)


def gate_for(gates: Gates, status: str) -> Gate | None:
    """The gate a promotion into ``status`` must pass (``None``: no figures needed)."""
    return {"test": gates.test, "stable": gates.stable}.get(status)


def shortfalls(figures: Figures, gate: Gate) -> list[str]:
    """Every bound ``figures`` misses, as readable lines (empty: the gate is met)."""
    out: list[str] = []
    if figures.detections < gate.min_detections:
        out.append(f"detections {figures.detections} < {gate.min_detections}")
    if figures.members < gate.min_members:
        out.append(f"members {figures.members} < {gate.min_members}")
    if figures.corroboration < gate.min_corroboration:
        out.append(f"corroboration {figures.corroboration:.3f} < {gate.min_corroboration:.3f}")
    if figures.protected_hits > gate.max_protected_hits:
        out.append(f"protected hits {figures.protected_hits} > {gate.max_protected_hits}")
    if figures.lifted > gate.max_lifted:
        out.append(f"lifted by operators {figures.lifted} > {gate.max_lifted}")
    if figures.disputes > gate.max_disputes:
        out.append(f"disputes {figures.disputes} > {gate.max_disputes}")
    return out


def harm(figures: Figures, gates: Gates) -> list[str]:
    """The harm bounds of ``gates.demote`` an enforcing rule's figures exceed (empty: none)."""
    bounds = gates.demote
    return shortfalls(figures, Gate(max_protected_hits=bounds.max_protected_hits,
                                    max_lifted=bounds.max_lifted, max_disputes=bounds.max_disputes))


def check_gate(rule: str, status: str, figures: Figures, gates: Gates) -> None:
    """Refuse (``gate``) a promotion of ``rule`` into ``status`` its figures do not support."""
    gate = gate_for(gates, status)
    if gate is None:
        return
    if figures.rule != rule:
        raise ArsenalError("gate", f"{rule}: the report measures {figures.rule}, not this rule version")
    missing = shortfalls(figures, gate)
    if missing:
        raise ArsenalError("gate", f"{rule} may not become {status}: " + "; ".join(missing))


def decode_gates(raw: bytes) -> Gates:
    """Parse ``gates.json``; raises :class:`ArsenalError` ``invalid``."""
    try:
        return msgspec.json.decode(raw, type=Gates)
    except msgspec.DecodeError as exc:
        raise ArsenalError("invalid", f"gates.json: {exc}") from None
