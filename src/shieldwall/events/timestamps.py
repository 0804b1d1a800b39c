"""Timestamps as services write them, parsed without the clock.

Supported: BSD syslog (``Dec 10 06:55:46``, no year: the caller supplies one and
a backwards jump of more than half a year is read as a new year), RFC 3339 / ISO
8601 (``2024-05-06T07:08:09.123+02:00``, journalctl's ``short-iso``; nginx's error
log writes ``2024/05/06 07:08:09``), ctime with the year last (Apache's error log:
``Tue Oct 10 13:55:36.123456 2024``), and the Common Log Format
(``10/Oct/2004:04:20:13 -0400``). Times without a zone are UTC
so that replaying a file gives the same result on every machine.
"""

from __future__ import annotations

import calendar
import re

_MONTHS = {
    name: index
    for index, name in enumerate(
        (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun",
         b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"),
        start=1,
    )
}

_ISO = re.compile(
    rb"(\d{4})[-/](\d\d)[-/](\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?"
    rb"\s?(Z|[+-]\d\d:?\d\d)?$"
)
#: Apache's error log: ``Tue Oct 10 13:55:36.123456 2024`` (ctime, with the year last).
_CTIME = re.compile(
    rb"[A-Z][a-z]{2} ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))? (\d{4})$"
)
_BSD = re.compile(rb"([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$")
_CLF = re.compile(rb"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$")

_HALF_YEAR = 183 * 86400
#: Two-digit seconds (leap second included) -> value.
SECONDS = {b"%02d" % n: n for n in range(61)}
#: Two-digit hours and minutes -> their value in seconds.
_HOURS = {b"%02d" % n: n * 3600 for n in range(24)}
_MINUTES = {b"%02d" % n: n * 60 for n in range(60)}


class TimestampError(ValueError):
    """The text is not a timestamp in a supported format."""


class Clockless:
    """Parses the timestamps of one stream; remembers the year for BSD syslog.

    One instance per source: it caches the day part of each timestamp (a log
    holds many lines per day) and tracks year rollover (Dec 31 -> Jan 1).

    ``latest`` (Unix seconds, optional) is when the log was last written, its
    file's mtime say: a first BSD timestamp more than a day after it belongs to
    the year before (a log of December rotated in January).
    """

    def __init__(self, year: int, latest: float | None = None) -> None:
        self.year = year
        self.latest = latest
        self._last_bsd = 0.0
        self._day_cache: dict[bytes, float] = {}
        #: ``b"Dec 10 06:55:"`` -> Unix seconds of that minute in the current year.
        #: Valid only for a minute within [low, high] (half a year either side of
        #: the last timestamp parsed in full): outside, the full parse decides
        #: about a new year. Public so that a hot loop can use it inline.
        self.minutes: dict[bytes, float] = {}
        #: ``b"Dec 10"`` -> Unix seconds of that day's start in the current year.
        self._bsd_days: dict[bytes, float] = {}
        #: ``b"10/Oct/2004:04:20 -0400"`` -> Unix seconds of that minute.
        self._clf_minutes: dict[bytes, float] = {}
        self.low = float("inf")
        self.high = float("-inf")

    def parse(self, text: bytes) -> float:
        """Unix seconds for ``text``; raises :class:`TimestampError`."""
        if len(text) == 26:
            # Common Log Format: a minute (and zone) seen before, plus seconds.
            base = self._clf_minutes.get(text[:17] + text[20:])
            if base is not None and (seconds := SECONDS.get(text[18:20])) is not None:
                return base + seconds
        first = text[:1]
        if first.isdigit():
            if text[2:3] == b"/":
                return self._clf(text)
            return self._iso(text)
        if text[3:4] == b" " and text[4:5].isalpha():
            return self._ctime(text)
        return self._bsd(text)

    def _ctime(self, text: bytes) -> float:
        m = _CTIME.match(text)
        month = _MONTHS.get(m.group(1)) if m is not None else None
        if m is None or month is None:
            raise TimestampError(f"not a ctime timestamp: {text[:40]!r}")
        hh, mm, ss = int(m.group(3)), int(m.group(4)), int(m.group(5))
        if hh > 23 or mm > 59 or ss > 60:
            raise TimestampError(f"not a time of day: {text[:40]!r}")
        value = self._day(int(m.group(7)), month, int(m.group(2))) + hh * 3600 + mm * 60 + ss
        return value + (float(b"0." + m.group(6)) if m.group(6) else 0.0)

    def _day(self, year: int, month: int, day: int) -> float:
        key = b"%d-%d-%d" % (year, month, day)
        cached = self._day_cache.get(key)
        if cached is None:
            try:
                cached = float(calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)))
            except (ValueError, OverflowError):
                raise TimestampError(f"no such day: {year}-{month}-{day}") from None
            if not 1 <= day <= calendar.monthrange(year, month)[1]:
                raise TimestampError(f"no such day: {year}-{month}-{day}")
            if len(self._day_cache) > 4096:
                self._day_cache.clear()
            self._day_cache[key] = cached
        return cached

    def _bsd(self, text: bytes) -> float:
        # Fast path: a minute seen before, and no year boundary in sight.
        if len(text) == 15:
            minute = self.minutes.get(text[:13])
            if minute is not None and self.low <= minute <= self.high:
                seconds = SECONDS.get(text[13:])
                if seconds is not None:
                    return minute + seconds
            # Next fastest: a day seen before; the time of day read by position.
            day_start = self._bsd_days.get(text[:6])
            if (
                day_start is not None
                and text[6:7] == b" "
                and text[9:10] == b":"
                and text[12:13] == b":"
                and (hh := _HOURS.get(text[7:9])) is not None
                and (mm := _MINUTES.get(text[10:12])) is not None
                and (ss := SECONDS.get(text[13:])) is not None
            ):
                value = day_start + hh + mm + ss
                if self.low <= value <= self.high:
                    self._remember(text, value, ss)
                    return value
        m = _BSD.match(text)
        if m is None:
            raise TimestampError(f"not a syslog timestamp: {text[:40]!r}")
        month = _MONTHS.get(m.group(1))
        if month is None:
            raise TimestampError(f"unknown month: {m.group(1)!r}")
        hh, mm, ss = int(m.group(3)), int(m.group(4)), int(m.group(5))
        if hh > 23 or mm > 59 or ss > 60:
            raise TimestampError(f"not a time of day: {text[:40]!r}")
        day = int(m.group(2))
        value = self._day(self.year, month, day) + hh * 3600 + mm * 60 + ss
        last = self._last_bsd
        if not last:
            if self.latest is not None and value > self.latest + 86400:
                self.year -= 1
                value = self._day(self.year, month, day) + hh * 3600 + mm * 60 + ss
        elif value < last - _HALF_YEAR:
            # December -> January: the log has crossed into a new year.
            self.year += 1
            self.minutes.clear()
            self._bsd_days.clear()
            value = self._day(self.year, month, day) + hh * 3600 + mm * 60 + ss
        elif value > last + _HALF_YEAR:
            # A straggler from December written just after the first January
            # line (several processes log out of order): last year's, and it
            # must not move the rollover reference forward by a year.
            value = self._day(self.year - 1, month, day) + hh * 3600 + mm * 60 + ss
            if m.group(6):
                value += float(b"0." + m.group(6))
            return value
        if m.group(6):
            value += float(b"0." + m.group(6))
            self._last_bsd = value
            self.low, self.high = value - _HALF_YEAR, value + _HALF_YEAR
            return value
        if len(text) == 15:
            # At most 366 keys ("Mon DD"): no bound needed.
            self._bsd_days[text[:6]] = self._day(self.year, month, day)
        self._remember(text, value, ss)
        return value

    def _remember(self, text: bytes, value: float, ss: int) -> None:
        """``value`` is the newest syslog time: the reference for new years; cache its minute."""
        if len(text) == 15:
            if len(self.minutes) >= 4096:
                self.minutes.clear()
            self.minutes[text[:13]] = value - ss
        self._last_bsd = value
        self.low = value - _HALF_YEAR
        self.high = value + _HALF_YEAR

    def _iso(self, text: bytes) -> float:
        m = _ISO.match(text)
        if m is None:
            raise TimestampError(f"not an ISO 8601 timestamp: {text[:40]!r}")
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hh, mm, ss = int(m.group(4)), int(m.group(5)), int(m.group(6))
        if not 1 <= month <= 12 or hh > 23 or mm > 59 or ss > 60:
            raise TimestampError(f"not a valid time: {text[:40]!r}")
        value = self._day(year, month, day) + hh * 3600 + mm * 60 + ss
        if m.group(7):
            value += float(b"0." + m.group(7))
        zone = m.group(8)
        if zone and zone != b"Z":
            sign = 1 if zone[:1] == b"+" else -1
            digits = zone[1:].replace(b":", b"")
            value -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        return value

    def _clf(self, text: bytes) -> float:
        m = _CLF.match(text)
        if m is None:
            raise TimestampError(f"not a Common Log Format timestamp: {text[:40]!r}")
        month = _MONTHS.get(m.group(2))
        if month is None:
            raise TimestampError(f"unknown month: {m.group(2)!r}")
        hh, mm, ss = int(m.group(4)), int(m.group(5)), int(m.group(6))
        if hh > 23 or mm > 59 or ss > 60:
            raise TimestampError(f"not a time of day: {text[:40]!r}")
        value = self._day(int(m.group(3)), month, int(m.group(1))) + hh * 3600 + mm * 60 + ss
        offset = int(m.group(8)) * 3600 + int(m.group(9)) * 60
        value = value - offset if m.group(7) == b"+" else value + offset
        if len(self._clf_minutes) >= 4096:
            self._clf_minutes.clear()
        self._clf_minutes[text[:17] + text[20:]] = value - ss
        return value
