"""A rule's status, and which status changes exist.

``experimental`` rules run in shadow everywhere: they detect and are reported to
the hub as trials, and never block, not even on the member that saw the attack.
``test`` and ``stable`` rules enforce like shipped scenarios. ``deprecated``
rules are not run at all. Promotion goes one step at a time
(experimental → test → stable); demotion may go back to shadow from anywhere.
"""

from __future__ import annotations

from typing import Literal, get_args

from shieldwall.errors import ArsenalError

Status = Literal["experimental", "test", "stable", "deprecated"]
STATUSES: tuple[str, ...] = get_args(Status)

#: Promotions: the only upward steps, each gated by the council and the figures.
PROMOTIONS: dict[str, str] = {"experimental": "test", "test": "stable"}


def enforces(status: str) -> bool:
    """Whether a rule with ``status`` may cause a block (locally or through the alliance)."""
    return status in ("test", "stable")


def runs(status: str) -> bool:
    """Whether members run the rule at all (shadow or enforcing)."""
    return status != "deprecated"


def check_change(current: str | None, new: str) -> str:
    """How ``current`` → ``new`` is called ("propose", "promote", "demote", "retire").

    Raises :class:`ArsenalError` ``invalid-status`` for a change that does not exist:
    a jump over a step, a promotion of a deprecated rule, or proposing straight
    into an enforcing status.
    """
    if new not in STATUSES:
        raise ArsenalError("invalid-status", f"unknown status {new!r}; one of {', '.join(STATUSES)}")
    if current is None:
        if new != "experimental":
            raise ArsenalError("invalid-status", "a new rule starts as experimental (shadow)")
        return "propose"
    if current == new:
        raise ArsenalError("invalid-status", f"the rule is {new} already")
    if PROMOTIONS.get(current) == new:
        return "promote"
    if new == "deprecated":
        return "retire"
    if new == "experimental" and current in ("test", "stable"):
        return "demote"
    if new == "test" and current == "stable":
        return "demote"
    raise ArsenalError("invalid-status", f"{current} → {new} is not a step (experimental → test → stable)")
