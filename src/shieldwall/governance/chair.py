"""The chair: who convenes the council at a given time. Pure: the time is an argument.

The charter's :class:`~shieldwall.governance.charter.Rotation` fixes the order and the
terms; no one has to act at a boundary for the chair to change (so a handover
cannot be blocked by an absent chair). If the chair's key is lost, councillors
publish an ``appoint-chair`` act with the ordinary threshold: the appointee chairs
from that moment to the end of the current term, and the rotation then continues
from the appointee in the charter's order.

The chair holds no votes beyond its own seat. It opens proposals and signs alone the
acts the charter delegates to it; proposals and signatures belong to the council,
not to the chair, so they carry over a handover untouched.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from shieldwall.governance.charter import Rotation

DAY = 86400
#: Handovers listed at most (a daily rotation over 27 years).
MAX_HANDOVERS = 10_000


@dataclass(frozen=True, slots=True)
class Appointment:
    """A published ``appoint-chair`` act: ``chair`` chairs from ``at``."""

    at: int
    chair: str


@dataclass(frozen=True, slots=True)
class Handover:
    """The chair changed at ``at`` from ``before`` to ``after``; ``cause`` is term or appointment."""

    at: int
    before: str
    after: str
    cause: str


def _year_start(year: int) -> int:
    return int(datetime.datetime(year, 1, 1, tzinfo=datetime.UTC).timestamp())


def _year(t: int) -> int:
    return datetime.datetime.fromtimestamp(t, tz=datetime.UTC).year


def term_index(rotation: Rotation, t: int) -> int | None:
    """Which term ``t`` falls in (0 from ``start``), or ``None`` before the rotation starts."""
    if t < rotation.start:
        return None
    if rotation.term == "days":
        return (t - rotation.start) // (rotation.days * DAY)
    return _year(t) - _year(rotation.start)


def term_end(rotation: Rotation, index: int) -> int:
    """When term ``index`` ends (the next chair's first second)."""
    if rotation.term == "days":
        return rotation.start + (index + 1) * rotation.days * DAY
    return _year_start(_year(rotation.start) + index + 1)


def chair_at(rotation: Rotation, t: int, appointments: Sequence[Appointment] = ()) -> str | None:
    """The chair at time ``t``; ``None`` before the rotation starts.

    Only appointments at or after the rotation's start count (a new charter with a new
    rotation starts afresh); the latest one not after ``t`` wins.
    """
    index = term_index(rotation, t)
    if index is None:
        return None
    order = rotation.order
    offset = 0
    valid = [a for a in appointments if rotation.start <= a.at <= t and a.chair in order]
    if valid:
        last = max(valid, key=lambda a: a.at)
        appointed_index = term_index(rotation, last.at)
        assert appointed_index is not None  # last.at >= start
        offset = order.index(last.chair) - appointed_index
    return order[(index + offset) % len(order)]


def handovers(rotation: Rotation, since: int, until: int,
              appointments: Sequence[Appointment] = ()) -> list[Handover]:
    """Every change of chair in ``(since, until]``, by term boundary or appointment."""
    moments: dict[int, str] = {}
    index = term_index(rotation, since)
    boundary = rotation.start if index is None else term_end(rotation, index)
    i = 0 if index is None else index + 1
    while boundary <= until and len(moments) < MAX_HANDOVERS:
        moments.setdefault(boundary, "term")
        boundary = term_end(rotation, i)
        i += 1
    for appointment in appointments:
        if since < appointment.at <= until:
            moments[appointment.at] = "appointment"
    found: list[Handover] = []
    for at in sorted(moments):
        before, after = chair_at(rotation, at - 1, appointments), chair_at(rotation, at, appointments)
        if after is not None and before != after:
            found.append(Handover(at, before or "", after, moments[at]))
    return found
