"""The hub's roster: every member's readiness, from its heartbeats and the time. Pure.

A member's state is the worst of the checks it last reported; one silent for longer
than ``SILENT_INTERVALS`` times the interval it promised becomes failing ("silent").
Every change of state is a :class:`Transition` the driver writes to the ledger's
journal (kind ``"readiness"``, key the member), so the roster can be rebuilt and its
history read back.

The quorum hook: a member failing for longer than ``grace`` does not count toward a
quorum (its corroboration is stale); :func:`discounted` names those members for the
policy. Degraded members still count: degraded means "works, with a warning" (a quiet
log, a pack one version behind), and excluding them would stall quorums over warnings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import msgspec

from shieldwall.readiness.heartbeat import SILENT_INTERVALS, Heartbeat, checks_of
from shieldwall.readiness.verdict import Check, State, ago, worst

JOURNAL_KIND = "readiness"
#: Default time a member may be failing before its reports stop counting (anchors §5).
DEFAULT_GRACE = 600.0

Standing = Literal["ok", "degraded", "failing", "unknown"]


class Entry(msgspec.Struct, frozen=True):
    """One member's readiness as the hub holds it (times are the hub's clock)."""

    member: str
    state: Standing
    #: When the member entered ``state``.
    since: float
    reason: str = ""
    checks: tuple[Check, ...] = ()
    #: When its last heartbeat arrived, and the member's own clock in it.
    seen: float | None = None
    sent: float | None = None
    interval: float = 30.0
    #: The member's clock minus the hub's when its last heartbeat arrived.
    skew: float | None = None

    def silent_after(self) -> float | None:
        """When silence makes this member failing (``None`` before any heartbeat)."""
        return None if self.seen is None else self.seen + SILENT_INTERVALS * self.interval


class Transition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A change of one member's state: the journal record (``body``)."""

    member: str
    at: float
    before: Standing
    after: Standing
    reason: str
    checks: tuple[Check, ...] = ()
    #: The heartbeat interval the member promised (restores its silence deadline).
    interval: float = 30.0


def summary(checks: Iterable[Check]) -> tuple[State, str]:
    """The worst state of ``checks`` and a reason naming the checks in it."""
    listed = tuple(checks)
    state = worst(tuple(c.state for c in listed))
    if state == "ok":
        return "ok", f"all {len(listed)} checks ok"
    bad = [c for c in listed if c.state == state]
    return state, "; ".join(f"{c.code} {c.state}: {c.reason}" for c in bad)[:1024]


def heard(entry: Entry | None, beat: Heartbeat, now: float) -> tuple[Entry, Transition | None]:
    """The entry after ``beat`` arrived at ``now``, and the transition it made (if any)."""
    checks = checks_of(beat)
    state, reason = summary(checks)
    before: Standing = "unknown" if entry is None else entry.state
    since = now if entry is None or entry.state != state else entry.since
    new = Entry(member=beat.member, state=state, since=since, reason=reason, checks=checks,
                seen=now, sent=beat.at, interval=beat.interval, skew=beat.at - now)
    if before == state:
        return new, None
    return new, Transition(beat.member, now, before, state, reason, checks, beat.interval)


def merged(entry: Entry | None, other: Entry) -> tuple[Entry, Transition | None]:
    """The entry after another replica's ``other`` (PostgreSQL: the shared roster).

    The later heartbeat wins; a member that stays in its state keeps the earlier
    ``since``. A change of state is a transition dated no earlier than the last one.
    """
    if entry is not None and entry.seen is not None and (
            other.seen is None or other.seen <= entry.seen):
        return entry, None
    before: Standing = "unknown" if entry is None else entry.state
    if entry is not None and entry.state == other.state:
        return msgspec.structs.replace(other, since=min(entry.since, other.since)), None
    at = other.since if entry is None else max(other.since, entry.since)
    new = msgspec.structs.replace(other, since=at)
    if before == other.state:
        return new, None
    return new, Transition(other.member, at, before, other.state, other.reason, other.checks,
                           other.interval)


def sweep(roster: Mapping[str, Entry], now: float) -> tuple[dict[str, Entry], list[Transition]]:
    """Silent members become failing; returns the new roster and the transitions."""
    out = dict(roster)
    moved: list[Transition] = []
    for name, entry in roster.items():
        if entry.seen is None or entry.state == "failing":
            continue
        if now <= entry.seen + SILENT_INTERVALS * entry.interval:
            continue
        reason = (f"silent: no heartbeat for {ago(now - entry.seen)} (it promised one every"
                  f" {ago(entry.interval)}; failing after {SILENT_INTERVALS} missed)")
        out[name] = msgspec.structs.replace(entry, state="failing", since=now, reason=reason)
        moved.append(Transition(name, now, entry.state, "failing", reason,
                                interval=entry.interval))
    return out, moved


def counts(entry: Entry | None, now: float, grace: float = DEFAULT_GRACE) -> bool:
    """Whether this member's reports count toward a quorum at ``now``.

    A member never heard from counts (an alliance whose agents predate heartbeats
    keeps its quorums); one failing for longer than ``grace`` does not.
    """
    if entry is None or entry.state != "failing":
        return True
    return now - entry.since <= grace


def discounted(roster: Mapping[str, Entry], now: float,
               grace: float = DEFAULT_GRACE) -> frozenset[str]:
    """Members whose reports do not count toward a quorum now."""
    return frozenset(name for name, entry in roster.items() if not counts(entry, now, grace))


def restore(transitions: Iterable[Transition]) -> dict[str, Entry]:
    """The roster as the journal left it (oldest first): each member's last transition.

    Heartbeat times are not journaled, so a restored member counts as heard at its
    last transition: silent members become failing again after their silence allows.
    """
    roster: dict[str, Entry] = {}
    for t in transitions:
        roster[t.member] = Entry(member=t.member, state=t.after, since=t.at, reason=t.reason,
                                 checks=t.checks, seen=t.at, interval=t.interval)
    return roster


def drop_departed(roster: Mapping[str, Entry], active: Iterable[str]) -> dict[str, Entry]:
    """The roster without members that left or were expelled."""
    keep = set(active)
    return {name: entry for name, entry in roster.items() if name in keep}
