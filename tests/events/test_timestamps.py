"""Timestamps as services write them, read without the clock."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest

from shieldwall.events.timestamps import Clockless, TimestampError


def utc(*parts: int) -> float:
    return float(calendar.timegm((*parts, 0, 0, 0)))


def test_bsd_syslog_uses_the_given_year() -> None:
    assert Clockless(2024).parse(b"Dec 10 06:55:46") == utc(2024, 12, 10, 6, 55, 46)


def test_bsd_single_digit_day_and_fractions() -> None:
    clock = Clockless(2024)
    assert clock.parse(b"Feb  1 10:00:00") == utc(2024, 2, 1, 10, 0, 0)
    assert clock.parse(b"Feb  1 10:00:00.250") == utc(2024, 2, 1, 10, 0, 0) + 0.25


def test_same_minute_again_reads_the_same_via_the_minute_cache() -> None:
    clock = Clockless(2024)
    first = clock.parse(b"Dec 10 06:55:46")
    assert clock.parse(b"Dec 10 06:55:59") == first + 13
    assert clock.parse(b"Dec 10 06:55:46") == first


def test_year_rollover_december_to_january() -> None:
    clock = Clockless(2024)
    dec = clock.parse(b"Dec 31 23:59:59")
    jan = clock.parse(b"Jan  1 00:00:01")
    assert jan == utc(2025, 1, 1, 0, 0, 1)
    assert jan - dec == 2
    assert clock.year == 2025


def test_december_straggler_after_rollover_stays_in_the_old_year() -> None:
    clock = Clockless(2024)
    clock.parse(b"Dec 31 23:59:59")
    clock.parse(b"Jan  1 00:00:00")
    assert clock.parse(b"Dec 31 23:59:58") == utc(2024, 12, 31, 23, 59, 58)
    # ...and does not make January read as yet another year later.
    assert clock.parse(b"Jan  1 00:00:05") == utc(2025, 1, 1, 0, 0, 5)
    assert clock.year == 2025


def test_log_of_december_rotated_in_january_reads_as_last_year() -> None:
    written = utc(2025, 1, 2, 0, 0, 0)
    clock = Clockless(2025, latest=written)
    assert clock.parse(b"Dec 30 12:00:00") == utc(2024, 12, 30, 12, 0, 0)
    assert clock.parse(b"Jan  1 08:00:00") == utc(2025, 1, 1, 8, 0, 0)


def test_first_line_before_the_mtime_keeps_the_mtime_year() -> None:
    clock = Clockless(2025, latest=utc(2025, 6, 1, 0, 0, 0))
    assert clock.parse(b"May 31 23:00:00") == utc(2025, 5, 31, 23, 0, 0)


@pytest.mark.parametrize(
    "text,value",
    [
        (b"2024-05-06T07:08:09Z", utc(2024, 5, 6, 7, 8, 9)),
        (b"2024-05-06T07:08:09.5+02:00", utc(2024, 5, 6, 5, 8, 9) + 0.5),
        (b"2024-05-06 07:08:09,250-0130", utc(2024, 5, 6, 8, 38, 9) + 0.25),
        (b"2024-05-06T07:08:09", utc(2024, 5, 6, 7, 8, 9)),
    ],
)
def test_iso_8601_with_zone_fraction_or_none(text: bytes, value: float) -> None:
    assert Clockless(1999).parse(text) == value


@pytest.mark.parametrize(
    "text,value",
    [
        (b"10/Oct/2004:04:20:13 -0400", utc(2004, 10, 10, 8, 20, 13)),
        (b"10/Oct/2004:04:20:13 +0200", utc(2004, 10, 10, 2, 20, 13)),
    ],
)
def test_common_log_format(text: bytes, value: float) -> None:
    assert Clockless(1999).parse(text) == value


@pytest.mark.parametrize(
    "text",
    [
        b"Foo 10 06:55:46", b"Dec 10 25:00:00", b"Dec 10 06:61:00", b"Feb 30 10:00:00",
        b"Dec 10", b"2024-13-01T00:00:00Z", b"2024-02-30T00:00:00Z", b"2024-01-01T24:00:00Z",
        b"2024-01-01", b"10/Foo/2004:04:20:13 -0400", b"10/Oct/2004:25:20:13 -0400",
        b"10/Oct/2004 04:20:13", b"99/Oct/2004:04:20:13 +0000",
    ],
)
def test_invalid_timestamps_raise(text: bytes) -> None:
    with pytest.raises(TimestampError):
        Clockless(2024).parse(text)


def test_day_cache_stays_bounded() -> None:
    clock = Clockless(2024)
    for year in range(1900, 1900 + 4200):
        clock.parse(b"%d-01-01T00:00:00Z" % year)
    assert len(clock._day_cache) <= 4097


def test_minute_cache_stays_bounded() -> None:
    clock = Clockless(2024)
    for minute in range(5000):
        clock.parse(b"Jan %2d %02d:%02d:00" % (1 + minute // 1440, minute // 60 % 24, minute % 60))
    assert len(clock.minutes) <= 4096


def test_a_minute_seen_before_with_impossible_seconds_is_still_refused() -> None:
    clock = Clockless(2024)
    clock.parse(b"Dec 10 06:55:46")
    with pytest.raises(TimestampError):
        clock.parse(b"Dec 10 06:55:61")


def test_single_space_day_and_fractional_straggler() -> None:
    clock = Clockless(2024)
    assert clock.parse(b"Dec 1 10:00:00") == utc(2024, 12, 1, 10, 0, 0)
    clock.parse(b"Dec 31 23:59:59")
    clock.parse(b"Jan  1 00:00:00")
    assert clock.parse(b"Dec 31 23:59:59.5") == utc(2024, 12, 31, 23, 59, 59) + 0.5


def test_year_zero_is_not_a_date() -> None:
    with pytest.raises(TimestampError, match="no such day"):
        Clockless(2024).parse(b"0000-01-01T00:00:00Z")


def test_common_log_format_minute_cache_keeps_zone_and_seconds_apart() -> None:
    clock = Clockless(1999)
    first = clock.parse(b"10/Oct/2004:04:20:13 -0400")
    assert clock.parse(b"10/Oct/2004:04:20:59 -0400") == first + 46
    assert clock.parse(b"10/Oct/2004:04:20:13 +0000") == first - 4 * 3600
    for minute in range(5000):
        day, hour, mins = 1 + minute // 1440, minute // 60 % 24, minute % 60
        clock.parse(b"%02d/Oct/2004:%02d:%02d:00 +0000" % (day, hour, mins))
    assert len(clock._clf_minutes) <= 4096


def test_a_day_seen_a_year_ago_still_starts_a_new_year() -> None:
    clock = Clockless(2024)
    clock.parse(b"Jan  1 10:00:00")
    clock.parse(b"Jul  1 10:00:00")
    clock.parse(b"Dec 31 10:00:00")
    assert clock.parse(b"Jan  1 11:00:00") == utc(2025, 1, 1, 11, 0, 0)
    assert clock.parse(b"Jan  1 11:00:30") == utc(2025, 1, 1, 11, 0, 30)
    assert clock.parse(b"Jan  1 12:00:30") == utc(2025, 1, 1, 12, 0, 30)


def test_cached_days_and_minutes_agree_with_a_fresh_clock() -> None:
    stamps = [b"Mar %2d %02d:%02d:%02d" % (d, h, m, s)
              for d in (1, 2, 15) for h in (0, 9, 23) for m in (0, 7, 59) for s in (0, 30, 60)]
    warm = Clockless(2024)
    for text in stamps:
        assert warm.parse(text) == Clockless(2024).parse(text), text


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        (b"2024/10/10 13:55:36", "2024-10-10T13:55:36"),  # nginx error log
        (b"Thu Oct 10 13:55:36.123456 2024", "2024-10-10T13:55:36.123456"),  # Apache 2.4
        (b"Thu Oct  3 13:55:36 2024", "2024-10-03T13:55:36"),  # Apache 2.2
    ],
)
def test_error_log_timestamps(text: bytes, iso: str) -> None:
    want = dt.datetime.fromisoformat(iso).replace(tzinfo=dt.UTC).timestamp()
    assert Clockless(2000).parse(text) == pytest.approx(want)


@pytest.mark.parametrize(
    "text", [b"Thu Foo 10 13:55:36 2024", b"Thu Oct 10 25:55:36 2024", b"Thu Oct 32 10:00:00 2024"]
)
def test_bad_ctime_timestamps_are_refused(text: bytes) -> None:
    with pytest.raises(TimestampError):
        Clockless(2000).parse(text)
