"""The events stage's contract: complete lines in (any chunking), events out, in order."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import pytest

from shieldwall.errors import PackError
from shieldwall.events import stream as stream_module
from shieldwall.events.event import Event
from shieldwall.events.packs import PackSpec, PatternSpec, load_pack
from shieldwall.events.patterns import Scanner
from shieldwall.events.stream import MAX_USER_CHARS, EventStream, StreamStats
from tests.conftest import shared_data

A = "192.0.2.1"


class Fed(NamedTuple):
    stream: EventStream
    events: list[Event]

    @property
    def stats(self) -> StreamStats:
        return self.stream.stats


def feed(text: str, *, keep_lines: bool = True, ipv6_prefix: int = 64) -> Fed:
    stream = EventStream(load_pack("sshd"), year=2024, keep_lines=keep_lines, ipv6_prefix=ipv6_prefix)
    return Fed(stream, stream.feed(text.encode("utf-8", "surrogateescape")))


def test_message_repeated_counts_n_times() -> None:
    s = feed(f"Feb  1 10:00:00 h sshd[9]: message repeated 3 times: [ Failed password for root from "
             f"{A} port 4022 ssh2]\n")
    [event] = s.events
    assert (event.key, event.weight, event.pattern) == (A, 3, "failed_auth")


def test_events_carry_time_user_line_and_kind() -> None:
    line = (
        f"Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from {A} port 1 ssh2"
    )
    [event] = feed(line + "\n").events
    assert event.user == "webmaster" and event.kind == "auth_failure" and event.pack == "sshd"
    assert event.line == line.encode()
    assert event.time == 1733813748.0


def test_keep_lines_false_drops_the_line_bytes() -> None:
    s = feed(f"Dec 10 06:55:48 h sshd[1]: Invalid user x from {A}\n", keep_lines=False)
    assert s.events[0].line == b""


def test_last_line_without_newline_and_crlf_endings_are_read() -> None:
    s = feed(f"Dec 10 06:55:48 h sshd[1]: Invalid user x from {A}\r\n"
             f"Dec 10 06:55:49 h sshd[2]: Invalid user y from {A}")
    assert [e.user for e in s.events] == ["x", "y"]
    assert s.stats.lines == 2


def test_user_names_are_cut_to_a_bounded_length() -> None:
    s = feed(f"Dec 10 06:55:48 h sshd[1]: Invalid user {'u' * 5000} from {A}\n")
    assert s.events[0].user == "u" * MAX_USER_CHARS


def test_chunking_does_not_change_the_events() -> None:
    data = shared_data("loghub", "OpenSSH_2k.log").read_bytes()
    whole = EventStream(load_pack("sshd"), year=2024).feed(data)
    pieces = EventStream(load_pack("sshd"), year=2024)
    split: list[object] = []
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + 1000)
        end = len(data) if end < 0 else end + 1
        split += pieces.feed(data[start:end])
        start = end
    assert split == whole
    assert pieces.feed(b"") == []


def test_stats_count_lines_matches_events_and_patterns() -> None:
    s = feed(
        f"Dec 10 06:55:48 h sshd[1]: Invalid user x from {A}\n"
        f"Dec 10 06:55:48 h sshd[1]: Failed password for invalid user x from {A} port 1 ssh2\n"
        "Dec 10 06:55:48 h sshd[1]: Server listening on 0.0.0.0 port 22.\n"
        "Dec 10 06:55:48 h kernel: something\n"
    )
    assert (s.stats.lines, s.stats.matched, s.stats.events) == (4, 2, 1)
    assert s.stats.per_pattern == {"invalid_user": 1, "failed_auth": 1}


def test_an_impossible_date_is_counted_not_raised() -> None:
    s = feed(f"Feb 30 10:00:00 h sshd[1]: Invalid user x from {A}\n")
    assert s.events == [] and s.stats.bad_time == 1


def test_year_rollover_in_a_stream_reads_january_as_the_next_year() -> None:
    s = feed(
        f"Dec 31 23:59:59 h sshd[1]: Invalid user x from {A}\n"
        f"Jan  1 00:00:01 h sshd[2]: Invalid user x from {A}\n"
        f"Dec 31 23:59:59 h sshd[3]: Invalid user x from {A}\n"
    )
    times = [e.time for e in s.events]
    assert times[1] - times[0] == 2 and times[2] == times[0]


def test_journal_iso_heads_and_priorities_are_read() -> None:
    s = feed(
        f"2024-07-02T10:11:12.5+02:00 host sshd-session[1571]: Invalid user a from {A}\n"
        f"<38>2024-07-02T10:11:13Z host sshd[1572]: Invalid user b from {A}\n"
    )
    assert [e.time for e in s.events] == [1719907872.5, 1719915073.0]


def test_ipv6_sources_aggregate_per_64_and_prefix_is_configurable() -> None:
    text = (
        "Dec 10 06:55:48 h sshd[1]: Invalid user x from 2001:db8:1:2::7\n"
        "Dec 10 06:55:48 h sshd[2]: Invalid user x from 2001:db8:1:2::8\n"
    )
    assert {e.key for e in feed(text).events} == {"2001:db8:1:2::/64"}
    assert {e.key for e in feed(text, ipv6_prefix=128).events} == {
        "2001:db8:1:2::7", "2001:db8:1:2::8"
    }


def test_ipv4_mapped_ipv6_is_counted_as_ipv4() -> None:
    s = feed(f"Dec 10 06:55:48 h sshd[1]: Invalid user x from ::ffff:{A}\n")
    assert s.events[0].key == A


def test_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "CACHE_SIZE", 16)
    lines = "".join(
        f"Dec 10 06:{i // 60 % 60:02d}:{i % 60:02d} h sshd[{i}]: "
        f"Invalid user u{i} from 10.0.{i // 256}.{i % 256}\n"
        for i in range(200)
    )
    s = feed(lines)
    assert len(s.events) == 200
    assert len(s.stream._keys) <= 16 and len(s.stream._users) <= 16 and len(s.stream._times) <= 16


def _pack(**changes: object) -> PackSpec:
    base = PackSpec(
        name="t", description="", format="syslog", program="prog",
        patterns=(PatternSpec(name="p", kind="k", role="request", regex="bad (?P<ip><ADDR>)"),),
        samples=(),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_request_role_counts_every_line_and_host_names_are_not_addresses() -> None:
    s = EventStream(_pack(), year=2024)
    events = s.feed(b"Dec 10 06:55:48 h prog[1]: bad 192.0.2.9\nDec 10 06:55:48 h prog[1]: bad 192.0.2.9\n"
                    b"Dec 10 06:55:48 h prog: bad aa.bb\n")
    assert [e.key for e in events] == ["192.0.2.9", "192.0.2.9"]
    assert s.stats.unaddressed == 1


def test_pattern_without_address_blames_nobody() -> None:
    pack = _pack(patterns=(PatternSpec(name="p", kind="k", role="request", regex="oops"),))
    assert EventStream(pack, year=2024).feed(b"Dec 10 06:55:48 h prog: oops\n") == []


def test_access_format_blames_the_first_field() -> None:
    pack = _pack(format="access", program="",
                 patterns=(PatternSpec(name="p", kind="k", role="request", regex='GET /x[^"]*" 404.*'),))
    line = b'192.0.2.5 - - [10/Oct/2004:04:20:13 -0400] "GET /x HTTP/1.0" 404 276 "-" "-"\n'
    [event] = EventStream(pack, year=2024).feed(line)
    assert event.key == "192.0.2.5" and event.time == 1097396413.0


def test_only_ip_and_user_groups_are_allowed() -> None:
    pack = _pack(patterns=(PatternSpec(name="p", kind="k", role="request", regex="(?P<host>x)"),))
    with pytest.raises(PackError, match="'p' uses group 'host'"):
        Scanner(pack)


def test_invalid_regex_names_the_pattern() -> None:
    pack = _pack(patterns=(PatternSpec(name="p", kind="k", role="request", regex="(unclosed"),))
    with pytest.raises(PackError, match="pattern 'p' is not a valid regex"):
        Scanner(pack)


def test_a_pattern_that_breaks_the_whole_regex_is_reported() -> None:
    pack = _pack(program="(")
    with pytest.raises(PackError, match="patterns do not compile"):
        Scanner(pack)


def test_scanner_scan_and_match_line_agree_with_the_stream() -> None:
    pack = load_pack("sshd")
    scanner = Scanner(pack)
    line = f"Dec 10 06:55:48 h sshd[5]: message repeated 2 times: [ Invalid user bob from {A}]".encode()
    raw = scanner.match_line(line + b"\n")
    assert raw is not None
    index, ts, ip, user, conn, repeat, text = raw
    assert (pack.patterns[index].name, ts, ip, user, conn, repeat, text) == (
        "invalid_user", b"Dec 10 06:55:48", A.encode(), b"bob", b"5", 2, line
    )
    assert scanner.match_line(b"Dec 10 06:55:48 h sshd[5]: hello") is None

