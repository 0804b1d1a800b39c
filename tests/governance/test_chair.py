"""Who chairs when: rotation by schedule, appointments, handovers."""

from __future__ import annotations

import datetime

from shieldwall.governance.chair import Appointment, chair_at, handovers, term_end
from shieldwall.governance.charter import Rotation
from tests.governance.conftest import DAY, START

DAYS = Rotation(order=("alice", "bob", "carol"), start=START, term="days", days=30)
YEARLY = Rotation(order=("alice", "bob"), start=START + 100 * DAY, term="calendar-year")


def ts(year: int, month: int = 1, day: int = 1) -> int:
    return int(datetime.datetime(year, month, day, tzinfo=datetime.UTC).timestamp())


def test_nobody_chairs_before_the_rotation_starts() -> None:
    assert chair_at(DAYS, START - 1) is None


def test_the_chair_rotates_every_term_in_order_and_wraps() -> None:
    assert [chair_at(DAYS, START + i * 30 * DAY) for i in range(4)] == ["alice", "bob", "carol", "alice"]
    assert chair_at(DAYS, START + 30 * DAY - 1) == "alice"


def test_a_calendar_year_term_ends_on_the_first_of_january_utc() -> None:
    assert chair_at(YEARLY, ts(2026, 12, 31)) == "alice"
    assert chair_at(YEARLY, ts(2027)) == "bob"
    assert chair_at(YEARLY, ts(2028)) == "alice"
    assert term_end(YEARLY, 0) == ts(2027)


def test_an_appointment_takes_over_at_once_and_the_rotation_continues_after_the_appointee() -> None:
    appointed = [Appointment(START + 10 * DAY, "carol")]
    assert chair_at(DAYS, START + 10 * DAY - 1, appointed) == "alice"
    assert chair_at(DAYS, START + 10 * DAY, appointed) == "carol"
    assert chair_at(DAYS, START + 30 * DAY, appointed) == "alice"
    assert chair_at(DAYS, START + 60 * DAY, appointed) == "bob"


def test_appointments_before_the_rotation_or_of_strangers_do_not_count() -> None:
    assert chair_at(DAYS, START, [Appointment(START - 1, "carol"), Appointment(START, "mallory")]) == "alice"


def test_handovers_list_term_boundaries_and_appointments() -> None:
    appointed = [Appointment(START + 40 * DAY, "alice")]
    found = handovers(DAYS, START - DAY, START + 61 * DAY, appointed)
    assert [(h.at - START) // DAY for h in found] == [0, 30, 40, 60]
    assert [(h.before, h.after, h.cause) for h in found] == [
        ("", "alice", "term"), ("alice", "bob", "term"), ("bob", "alice", "appointment"),
        ("alice", "bob", "term")]
