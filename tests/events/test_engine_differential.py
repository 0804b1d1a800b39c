"""The compiled engine and the pure Python loops give the same events and detections.

Both engines read every log of ``shared/data`` with every pack whose service the
file names (a pack's ``detect`` markers), and the fuzz corpus of the blame tests
(hostile user names, client fields, request lines, pathological fillers), and
must return equal event lists (time, blamed key, pack, pattern, kind, weight,
user and the line itself), equal stream statistics, and the same detections (the
detector's compiled loop against its Python loop, each fed by its own engine).
The shared logs are read once per pack as one buffer and once in small chunks, so
that chunk edges cannot hide a difference either.
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import default_scenarios
from shieldwall.events import engine
from shieldwall.events.event import Event
from shieldwall.events.packs import PackSpec, builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream
from tests.conftest import shared_data
from tests.events import test_blame_security as blame
from tests.events.test_pathological_lines import ACCESS_HEAD, SYSLOG_HEADS, _fillers

ALL_PACKS = {name: load_pack(name) for name in builtin_pack_names()}
needs_engine = pytest.mark.skipif(engine.compiled is None, reason="the compiled engine is not built here")
#: The packs the compiled engine runs (PCRE2 compiles them); the others always run on re.
PACKS = {
    name: pack for name, pack in ALL_PACKS.items()
    if engine.compiled is not None and EventStream(pack, year=2024).engine == "compiled"
}
#: nginx-error's bounded repeats of a lookahead group ({0,4096}) make a compiled form larger
#: than PCRE2's limit: that pack runs on Python's re with either engine.
ON_RE_ALWAYS = {"nginx-error"}


def _both(pack: PackSpec, chunks: list[bytes], year: int = 2024) -> tuple[list[Event], list[Event]]:
    """(python events, compiled events) of the same chunks; their stream stats must agree too."""
    out = []
    stats = []
    for which in ("python", "compiled"):
        stream = EventStream(pack, year=year, engine=which, latest=1.7e9)
        assert stream.engine == which
        events: list[Event] = []
        for chunk in chunks:
            events += stream.feed(chunk)
        out.append(events)
        stats.append(stream.stats)
    assert stats[0] == stats[1], pack.name
    return out[0], out[1]


def _assert_same(pack: PackSpec, chunks: list[bytes], what: str) -> list[Event]:
    python, compiled = _both(pack, chunks)
    for index, (a, b) in enumerate(zip(python, compiled, strict=False)):
        assert a == b, f"{what} ({pack.name}): event {index} differs: {a!r} != {b!r}"
    assert len(python) == len(compiled), f"{what} ({pack.name}): {len(python)} != {len(compiled)} events"
    return python


def _shared_logs() -> list[Path]:
    root = shared_data()
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix not in {".md", ".json", ".yaml", ".yml", ".csv", ".conf", ".py"}
    )


def _small_chunks(data: bytes, size: int = 4096) -> list[bytes]:
    chunks, start = [], 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + size) + 1 or min(len(data), start + size)
        if end <= start:
            end = data.find(b"\n", start) + 1 or len(data)
        chunks.append(data[start:end])
        start = end
    return chunks


@needs_engine
def test_the_compiled_engine_runs_every_pack_but_those_pcre2_cannot_hold() -> None:
    assert set(ALL_PACKS) - set(PACKS) == ON_RE_ALWAYS
    for name in ON_RE_ALWAYS:
        assert EventStream(ALL_PACKS[name], year=2024).engine == "python"
        with pytest.raises(ValueError, match="PCRE2"):
            EventStream(ALL_PACKS[name], year=2024, engine="compiled")


@needs_engine
def test_the_shared_logs_are_there_to_compare() -> None:
    logs = _shared_logs()
    assert len(logs) > 100
    assert any(p.name == "OpenSSH_2k.log" for p in logs)


@needs_engine
def test_every_shared_log_gives_the_same_events_and_detections_with_both_engines() -> None:
    compared = 0
    for path in _shared_logs():
        data = path.read_bytes()
        for pack in PACKS.values():
            if not any(marker.encode() in data for marker in pack.detect):
                continue
            events = _assert_same(pack, [data], str(path))
            _assert_same(pack, _small_chunks(data), f"{path} in 4 KiB chunks")
            compared += 1
            if events:
                found = []
                for which in ("python", "compiled"):
                    stream = EventStream(pack, year=2024, engine=which, latest=1.7e9)
                    detector = Detector(default_scenarios(), history=True, engine=which)
                    detector.feed(stream.feed(data))
                    found.append([d.to_json() for d in detector.detections or []])
                assert found[0] == found[1], path
    assert compared > 50


@needs_engine
def test_pack_samples_give_the_same_events_with_both_engines() -> None:
    for pack in PACKS.values():
        lines = [s.line.encode("utf-8", "surrogateescape") for s in pack.samples]
        _assert_same(pack, [b"\n".join(lines)], "samples")
        for line in lines:
            _assert_same(pack, [line], f"sample {line[:80]!r}")


@needs_engine
def test_pathological_lines_give_the_same_events_with_both_engines() -> None:
    for pack in PACKS.values():
        heads = [ACCESS_HEAD] if pack.format == "access" else [
            f"{h}{pack.detect[0]}" for h in SYSLOG_HEADS
        ]
        lines = [(head + filler).encode("utf-8", "surrogateescape")
                 for head in heads for filler in _fillers()]
        _assert_same(pack, [b"\n".join(lines)], "pathological lines")


def _fuzz_lines(user: str) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {name: [] for name in ALL_PACKS}
    for pid, (template, _) in enumerate(blame.SSHD_TEMPLATES, 1000):
        lines["sshd"].append(f"Dec 10 06:55:46 LabSZ sshd[{pid}]: " + template.format(u=user, ip=blame.REAL))
    for pack_name, sample in blame._USER_SAMPLES:
        lines[pack_name].append(sample.line.replace(sample.user or "", user))
    for pack_name, sample, field in blame._CLIENT_CASES:
        lines[pack_name].append(blame._substitute(sample, field, user))
    for template in blame.HTTP_TEMPLATES:
        lines["http"].append(template.format(ip=blame.REAL, u=blame._apache_quote(user)))
    for pack_name, template, _ in blame.ERROR_LOG_TEMPLATES:
        lines[pack_name].append(template.format(ip=blame.REAL, u=user))
    return lines


@needs_engine
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user=blame._USER)
def test_fuzzed_blame_corpus_gives_the_same_events_with_both_engines(user: str) -> None:
    for pack_name, lines in _fuzz_lines(user).items():
        if lines and pack_name in PACKS:
            data = "\n".join(lines).encode("utf-8", "surrogateescape")
            _assert_same(PACKS[pack_name], [data], f"fuzzed {user!r}")


@needs_engine
def test_hostile_corpus_gives_the_same_events_with_both_engines() -> None:
    for user in blame.HOSTILE:
        for pack_name, lines in _fuzz_lines(user.replace("\n", " ")).items():
            if lines and pack_name in PACKS:
                _assert_same(PACKS[pack_name], ["\n".join(lines).encode("utf-8", "surrogateescape")],
                             f"hostile {user!r}")


def test_engine_python_is_always_available_and_forced_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert engine.wanted("python") == "python"
    monkeypatch.setenv(engine.ENV, "python")
    assert engine.wanted() == "python"
    assert EventStream(ALL_PACKS["sshd"], year=2024).engine == "python"
    assert "pure Python" in engine.describe()
    with pytest.raises(ValueError, match="unknown engine"):
        engine.wanted("fast")


def test_the_compiled_engine_is_built_where_it_can_be() -> None:
    # Where gcc, the Python headers and PCRE2's headers are all present (CI, Debian with
    # python3-dev libpcre2-dev), an install without the engine is a broken build.
    include = Path(sysconfig.get_paths()["include"])
    can_build = (
        shutil.which("gcc") is not None
        and (include / "Python.h").exists()
        and Path("/usr/include/pcre2.h").exists()
        and not os.environ.get("SHIELDWALL_NO_ENGINE")
    )
    if not can_build:
        pytest.skip("no compiler, Python headers or PCRE2 headers here: the pure Python loop runs")
    assert engine.compiled is not None, "the compiled engine should have been built (pip install -e .)"
    assert engine.wanted("compiled") == "compiled"


#: Address spellings the compiled engine reads itself (plain dotted quads) and those it
#: leaves to Python's ipaddress: both must key them the same way (or refuse them alike).
ADDRESS_SPELLINGS = [
    "1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.02.3.4", "1.2.3.004",
    "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1111.2.3.4", "00.0.0.0", "10.0.0.1",
    "::ffff:1.2.3.4", "::1", "2001:db8::1", "2001:DB8:0:0:1::1", "fe80::1", "1.2.3.4:22", "a.b.c.d",
]


@needs_engine
def test_every_address_spelling_is_keyed_alike_by_both_engines() -> None:
    lines = [
        f"Dec 10 06:55:46 h sshd[{pid}]: Failed password for root from {address} port 22 ssh2".encode()
        for pid, address in enumerate(ADDRESS_SPELLINGS, 100)
    ] + [
        f'{address} - - [10/Oct/2024:13:55:36 +0000] "GET /.env HTTP/1.1" 404 1 "-" "-"'.encode()
        for address in ADDRESS_SPELLINGS
    ]
    sshd = _assert_same(PACKS["sshd"], [b"\n".join(lines)], "address spellings")
    http = _assert_same(PACKS["http"], [b"\n".join(lines)], "address spellings")
    assert {"1.2.3.4", "0.0.0.0", "2001:db8::/64"} <= {e.key for e in sshd + http}
    assert "256.1.1.1" not in {e.key for e in sshd + http}


def _detections(events: list[Event], which: str, **kwargs: object) -> list[dict[str, object]]:
    detector = Detector(default_scenarios(), history=True, engine=which, **kwargs)  # type: ignore[arg-type]
    for start in range(0, len(events), 997):  # the detector is fed in batches, as replay does
        detector.feed(events[start:start + 997])
    assert detector.engine == which
    return [d.to_json() for d in detector.detections or []]


def _mixed_events() -> list[Event]:
    """Every shape the detector knows: repeats (weight > 1), time going back, many users."""
    events: list[Event] = []
    t = 1.7e9
    for i in range(4000):
        address = f"45.13.{i % 7}.{i % 13}"
        user = f"user{i % 11}" if i % 3 else None
        weight = 3 if i % 17 == 0 else 1
        when = t + i * 7 - (900 if i % 101 == 0 else 0) - (50_000 if i % 997 == 0 else 0)
        kind = "ssh_scan" if i % 5 == 0 else "auth_failure"
        events.append(Event(when, address, "sshd", "p", kind, weight, user, f"line {i}".encode()))
        events.append(Event(when + 1, address, "http", "p", "http_probe", 1, None, b"x"))
    return events


@needs_engine
def test_the_detectors_loops_agree_on_repeats_time_going_back_and_distinct_users() -> None:
    events = _mixed_events()
    python = _detections(events, "python")
    assert len(python) > 50
    assert python == _detections(events, "compiled")


@needs_engine
def test_the_detectors_loops_agree_with_an_allowlist_evictions_and_without_evidence() -> None:
    from shieldwall.addresses import parse_ranges

    events = _mixed_events()
    allow = parse_ranges(["45.13.1.0/24"], "allow", widen=False)
    for kwargs in ({"exempt": allow}, {"max_keys": 3}, {"keep_evidence": False}):
        assert _detections(events, "python", **kwargs) == _detections(events, "compiled", **kwargs), kwargs


def _clock_lines() -> tuple[list[bytes], list[bytes]]:
    """BSD syslog and CLF lines that walk the clock's edges: year ends, stragglers, bad days."""
    bsd, clf = [], []
    stamps = [
        "Dec 31 23:59:58", "Dec 31 23:59:59", "Jan  1 00:00:00", "Dec 31 23:59:57", "Jan  1 00:00:01",
        "Feb 29 12:00:00", "Feb 30 12:00:00", "Apr 31 01:02:03", "Jan  1 24:00:00", "Jan  1 23:60:00",
        "Jan  1 23:59:60", "Jan  1 23:59:61", "Jul  4 10:00:00", "Jan  2 10:00:00", "Jul  5 10:00:00",
        "Dec 10 06:55:46.123", "Jan  1 00:00:0a",
    ]
    for minute in range(5000):  # more minutes than the clock keeps: its caches start over
        day, hour, second = 1 + minute // 1440, minute // 60 % 24, minute % 61
        stamps.append(f"Mar {day:2d} {hour:02d}:{minute % 60:02d}:{second:02d}")
    for pid, stamp in enumerate(stamps, 100):
        line = f"{stamp} h sshd[{pid}]: Failed password for root from 45.13.7.{pid % 250} port 22 ssh2"
        bsd.append(line.encode())
    dates = ["29/Feb/2024:10:00:00 +0000", "29/Feb/2023:10:00:00 +0000", "31/Apr/2024:10:00:00 +0000",
             "00/Jan/2024:10:00:00 +0000", "10/Oct/0000:10:00:00 +0000", "10/Oct/2024:10:00:00 +1400",
             "10/Oct/2024:10:00:00 -0959", "10/Oct/2024:10:00:60 +0000", "10/Oct/2024:10:00:61 +0000",
             "10/Oct/2024:24:00:00 +0000", "10/Foo/2024:10:00:00 +0000", "01/Jan/1969:00:00:00 +0000",
             "31/Dec/9999:23:59:59 -2359"]
    for minute in range(5000):
        dates.append(f"{1 + minute // 1440:02d}/Mar/2024:{minute // 60 % 24:02d}:{minute % 60:02d}:"
                     f"{minute % 61:02d} +0{minute % 10}00")
    for i, date in enumerate(dates):
        clf.append(f'45.13.8.{i % 250} - - [{date}] "GET /.env HTTP/1.1" 404 1 "-" "-"'.encode())
    return bsd, clf


@needs_engine
def test_the_clock_edges_read_alike_by_both_engines() -> None:
    bsd, clf = _clock_lines()
    for lines in (bsd, bsd[::-1], bsd[3:] + bsd[:3]):
        _assert_same(PACKS["sshd"], [b"\n".join(lines)], "syslog clock edges")
    for lines in (clf, clf[::-1]):
        _assert_same(PACKS["http"], [b"\n".join(lines)], "CLF clock edges")


@needs_engine
def test_lines_pcre2_cannot_decide_are_decided_by_re_with_the_same_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A match limit of 1 makes PCRE2 give up on every line: each goes to Python's re alone.
    from shieldwall.events import stream as stream_module

    monkeypatch.setattr(stream_module, "_MATCH_LIMIT", 1)
    sshd = shared_data("loghub", "OpenSSH_2k.log").read_bytes()
    events = _assert_same(PACKS["sshd"], [sshd], "every line through the fallback")
    assert len(events) > 500
    bsd, clf = _clock_lines()
    _assert_same(PACKS["sshd"], [b"\n".join(bsd)], "every line through the fallback")
    _assert_same(PACKS["http"], [b"\n".join(clf)], "every line through the fallback")
    for pack in PACKS.values():
        lines = [s.line.encode("utf-8", "surrogateescape") for s in pack.samples]
        _assert_same(pack, [b"\n".join(lines)], "samples through the fallback")


@needs_engine
def test_a_full_connection_table_and_recycled_process_ids_count_alike() -> None:
    # More live connections than the table holds (65,536): the oldest half is dropped, and
    # a dropped connection's later 'Failed password' counts again; process ids recycled by
    # other clients and after the idle time start new connections.
    pam = "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost="
    failed = "Failed password for root from {} port 1 ssh2"
    lines = []
    for i in range(70_000):
        second = i * 500 // 70_000
        lines.append(f"Jan  1 00:{second // 60:02d}:{second % 60:02d} h sshd[{i}]: {pam}45.{i % 200}.1.2 ")
    for i in range(0, 70_000, 7):
        lines.append(f"Jan  1 00:08:30 h sshd[{i}]: " + failed.format(f"45.{i % 200}.1.2"))
        lines.append(f"Jan  1 00:08:31 h sshd[{i}]: " + failed.format(f"46.{i % 200}.1.2"))
    for i in range(0, 70_000, 1000):
        lines.append(f"Jan  1 00:30:00 h sshd[{i}]: " + failed.format(f"45.{i % 200}.1.2"))
    events = _assert_same(PACKS["sshd"], [("\n".join(lines)).encode()], "connection table bounds")
    assert len(events) > 70_000
