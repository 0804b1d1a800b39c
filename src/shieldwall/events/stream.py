"""Turn buffers of log lines into events: scanner + clock + blame + accounting.

:class:`EventStream` is the events stage's contract: feed it complete lines (in
any chunking), get back the events they hold, in order. It is pure: the year for
BSD syslog timestamps is given, never read from the clock.

:meth:`EventStream.feed` is the replay hot path, so it fuses the scanner's loop,
time parsing, blame and accounting into one loop over the scanner's matches, with
one ``m.group()`` call per line and plain-dict caches: a minute's start (kept by
the clock), timestamps, blamed addresses and user names repeat across an attack.
Every cache is bounded.

When the compiled engine is built (:mod:`shieldwall.events.engine`), the same loop
runs in C (``_engine.c``, PCRE2's JIT for the pack's regex) over the same caches;
this file's loop stays the reference and the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shieldwall.addresses import DEFAULT_IPV6_PREFIX, blame_key_from_text
from shieldwall.events import engine as engines
from shieldwall.events.attempts import DEFAULT_MAX_AUTH_TRIES, ConnectionTable
from shieldwall.events.event import Event
from shieldwall.events.packs import PackSpec
from shieldwall.events.patterns import Scanner
from shieldwall.events.timestamps import SECONDS, Clockless, TimestampError

#: PCRE2's match limit for the compiled loop (0: its default). A line over the limit is
#: decided by Python's re; the tests set 1 to send every line there.
_MATCH_LIMIT = 0
#: The roles the compiled engine knows (events/attempts.py's, by name).
_ROLES = frozenset({"attempt", "pam", "connection", "exhausted", "connect", "mark", "marked", "request"})

MAX_USER_CHARS = 64
#: Entries per cache before it is emptied (times, addresses, user names).
CACHE_SIZE = 16384

#: (pattern index, groups of (time, address, connection, RFC 5424 connection, repeat,
#: user), role, name, kind)
_Slot = tuple[int, tuple[int, int, int, int, int, int], str, str, str]


@dataclass
class StreamStats:
    """What a stream has seen so far."""

    lines: int = 0
    matched: int = 0
    events: int = 0
    #: Matched lines whose blamed text was not an address (e.g. a host name).
    unaddressed: int = 0
    bad_time: int = 0
    per_pattern: dict[str, int] = field(default_factory=dict)


class EventStream:
    """Events from one pack over one stream of lines."""

    def __init__(
        self,
        pack: PackSpec,
        *,
        year: int,
        ipv6_prefix: int = DEFAULT_IPV6_PREFIX,
        keep_lines: bool = True,
        latest: float | None = None,
        max_auth_tries: int = DEFAULT_MAX_AUTH_TRIES,
        engine: str = "auto",
    ) -> None:
        self.pack = pack
        self.scanner = Scanner(pack)
        self.clock = Clockless(year, latest)
        self.connections = ConnectionTable(max_auth_tries)
        self.ipv6_prefix = ipv6_prefix
        self.keep_lines = keep_lines
        self.stats = StreamStats()
        # Per marker group number (m.lastindex): everything the loop needs, with
        # the groups of (time, address, connection, RFC 5424 connection, repeat, user) to fetch in one
        # m.group() call; a field the pattern lacks points at a group that is
        # never set when this pattern matched.
        scanner = self.scanner
        # Only marker groups are ever m.lastindex (each closes its pattern's
        # branch last), so the entries for other groups are never read.
        self._slots: list[_Slot] = [(-1, (0, 0, 0, 0, 0, 0), "", "", "")] * len(scanner.slots)
        for group, (index, ip_group, user_group) in enumerate(scanner.slots):
            if index >= 0:
                p = pack.patterns[index]
                unset = scanner.unset_groups[index]
                fields = (
                    scanner.ts_group,
                    ip_group or scanner.head_ip_group or unset,
                    scanner.pid_group or unset,
                    scanner.pid5_group or unset,
                    scanner.rep_group or unset,
                    user_group or unset,
                )
                self._slots[group] = (index, fields, p.role, p.name, p.kind)
        self._hits = [0] * len(pack.patterns)
        #: timestamp text -> Unix seconds (many lines share a second).
        self._times: dict[bytes, float] = {}
        self._keys: dict[bytes, str] = {}
        self._users: dict[bytes, str] = {}
        #: The compiled loop, or ``None``: this file's loop runs.
        self._fast: Any = None
        if engines.wanted(engine) == "compiled":
            self._fast = self._compiled(max_auth_tries, strict=engine == "compiled")
        #: Which engine feeds this stream: ``"compiled"`` or ``"python"``.
        self.engine = "python" if self._fast is None else "compiled"

    def _compiled(self, max_auth_tries: int, *, strict: bool) -> Any:
        """The compiled loop over this stream's caches, or ``None`` if the pack needs Python's re."""
        module = engines.compiled
        assert module is not None  # engines.wanted said so
        if any(self.pack.patterns[i].role not in _ROLES for i, *_ in self._slots if i >= 0):
            return None
        slots = [
            (group, index, fields, role, name, kind)
            for group, (index, fields, role, name, kind) in enumerate(self._slots)
            if index >= 0
        ]
        prefix = self.ipv6_prefix

        def key_of(text: bytes) -> str:
            return blame_key_from_text(text.decode("ascii", "replace"), prefix) or ""

        regex = self.scanner.regex
        source, to_line_end = engines.pcre2_source(regex.pattern)
        try:
            return module.Feeder(
                source, regex.groups, slots, len(self.pack.patterns), self.pack.name, Event,
                key_of, self._parse_time, self._fallback, self.clock, self._times, self._keys,
                self._users, SECONDS, CACHE_SIZE, self.keep_lines, self.connections.max_tries,
                _MATCH_LIMIT, to_line_end,
            )
        except ValueError:
            # PCRE2 reads this pack's regex differently (or not at all): Python's re decides.
            if strict:
                raise
            return None

    def _fallback(self, data: bytes, start: int) -> tuple[int, int, int, tuple[tuple[int, int], ...]] | None:
        """Python's re on the one line at ``start`` (PCRE2 hit a limit there); Scanner.matches' rules."""
        regex = self.scanner.regex
        line_end = data.find(b"\n", start + 1)
        if line_end < 0:
            line_end = len(data)
        m = regex.match(data, start)
        if m is not None and data.find(b"\n", start + 1, m.end()) >= 0:
            m = regex.match(data, start, line_end)
        if m is None or m.lastindex is None:
            return None
        return m.lastindex, m.start(), m.end(), m.regs

    def feed(self, buffer: bytes) -> list[Event]:
        """Events of the complete lines in ``buffer`` (which may lack a final newline)."""
        if not buffer:
            return []
        stats = self.stats
        if self._fast is not None:
            return self._feed_compiled(buffer)
        stats.lines += buffer.count(b"\n") + (0 if buffer.endswith(b"\n") else 1)
        out: list[Event] = []
        append = out.append
        pack_name = self.pack.name
        slots = self._slots
        hits = self._hits
        times, keys, users = self._times, self._keys, self._users
        clock = self.clock
        minutes = clock.minutes
        weigh = self.connections.weigh
        prefix = self.ipv6_prefix
        keep = self.keep_lines
        unaddressed = 0
        low, high = clock.low, clock.high
        matched_before = sum(hits)
        data = b"\n" + buffer  # every line, the first included, starts after a newline
        for m in self.scanner.matches(data):
            index, fields, role, name, kind = slots[m.lastindex]  # type: ignore[index]
            hits[index] += 1
            ts, ip, conn, conn5, rep, raw = m.group(*fields)
            # Syslog time: the minute's start (cached by the clock) plus seconds.
            if (
                len(ts) == 15
                and (base := minutes.get(ts[:13])) is not None
                and low <= base <= high
                and (seconds := SECONDS.get(ts[13:])) is not None
            ):
                when = base + seconds
            else:
                cached = times.get(ts)
                if cached is None:
                    cached = self._parse_time(ts)
                    low, high = clock.low, clock.high
                    if cached is None:
                        continue
                when = cached
            key = None
            if ip is not None:
                key = keys.get(ip)
                if key is None:
                    if len(keys) >= CACHE_SIZE:
                        keys.clear()
                    # "" marks text that is not an address (a host name).
                    key = keys[ip] = blame_key_from_text(ip.decode("ascii", "replace"), prefix) or ""
                if not key:
                    unaddressed += 1
                    continue
            weight = 1 if rep is None else int(rep)
            if role != "request":
                key, weight = weigh(role, conn or conn5, key, weight, when)
                if key is None or weight <= 0:
                    continue
            elif key is None:
                continue
            user = None
            if raw is not None:
                user = users.get(raw)
                if user is None:
                    if len(users) >= CACHE_SIZE:
                        users.clear()
                    user = users[raw] = raw[: MAX_USER_CHARS * 4].decode("utf-8", "replace")[
                        :MAX_USER_CHARS
                    ]
            append(
                Event(
                    when, key, pack_name, name, kind, weight, user,
                    data[m.start() + 1 : m.end()] if keep else b"",
                )
            )
        stats.matched += sum(hits) - matched_before
        stats.unaddressed += unaddressed
        stats.events += len(out)
        per_pattern = stats.per_pattern
        for p, count in zip(self.pack.patterns, hits, strict=True):
            if count:
                per_pattern[p.name] = count
        return out

    def _feed_compiled(self, buffer: bytes) -> list[Event]:
        events: list[Event]
        events, matched, unaddressed, lines = self._fast.feed(b"\n" + buffer)
        stats = self.stats
        stats.lines += lines
        stats.matched += matched
        stats.unaddressed += unaddressed
        stats.events += len(events)
        if matched:
            per_pattern = stats.per_pattern
            for p, count in zip(self.pack.patterns, self._fast.hits(), strict=True):
                if count:
                    per_pattern[p.name] = count
        return events

    def _parse_time(self, ts: bytes) -> float | None:
        """Unix seconds of a timestamp not yet cached; ``None`` (and counted) if invalid."""
        year = self.clock.year
        try:
            when = self.clock.parse(ts)
        except TimestampError:
            self.stats.bad_time += 1
            return None
        if self.clock.year != year or len(self._times) >= CACHE_SIZE:
            # A new year: timestamps cached before it would read as last year's.
            self._times.clear()
        self._times[ts] = when
        return when
