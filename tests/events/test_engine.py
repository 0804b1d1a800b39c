"""The compiled engine's form of a pack's regex: a pattern's scan to the line end cut short.

Which patterns :func:`shieldwall.events.engine.pcre2_source` may stop early (a final
``.*``, ``[^\\n]*`` or ``(?:[ \\r][^\\n]*)?``, as syntax) and which it must leave alone
(an escaped dot, a class that only ends like one, an inline DOTALL flag, a trailer it
does not know); and that a cut pack gives the very events Python's re gives, lines
that run over a newline and patterns that backtrack out of a cut included.
"""

from __future__ import annotations

import pytest

from shieldwall.events import engine
from shieldwall.events.event import Event
from shieldwall.events.packs import PackSpec, PatternSpec
from shieldwall.events.patterns import Scanner
from shieldwall.events.stream import EventStream

TRAILER = rb"[ \t]*\r?$"


def _source(*bodies: bytes) -> bytes:
    alternatives = b"|".join(body + b"(?P<p_%d>)" % i for i, body in enumerate(bodies))
    return rb"\nhead (?:" + alternatives + b")" + TRAILER


def test_a_pattern_that_ends_with_the_rest_of_the_line_stops_at_its_marker() -> None:
    source, cut = engine.pcre2_source(_source(rb"Failed .*", rb"Bad [^\n]*", rb"x 4\d\d(?:[ \r][^\n]*)?"))
    assert cut
    assert source == _source(b"Failed ", b"Bad ", rb"x 4\d\d").replace(
        b"(?P<p_0>)", b"(?P<p_0>)(*ACCEPT)").replace(b"(?P<p_1>)", b"(?P<p_1>)(*ACCEPT)").replace(
        b"(?P<p_2>)", rb"(?P<p_2>)(?:[ \r](*ACCEPT))?")


@pytest.mark.parametrize("body", [
    rb"a\.*",            # an escaped dot: a run of dots, not the rest of the line
    rb"a\\\.*",          # a backslash, then an escaped dot
    rb"a[x.*",           # never valid, but a dot in a class is no wildcard either
    rb"a[b[^\n]*",       # a class [b[^\n] repeated: it matches newlines
    rb"a.*?",            # lazy: it stops at the first place the trailer holds
    rb"a.*+",            # possessive
    rb"a(?:[ \r][^\n]+)?",
])
def test_what_only_looks_like_the_rest_of_the_line_is_left_alone(body: bytes) -> None:
    source = _source(body, rb"other")
    assert engine.pcre2_source(source) == (source, False)


def test_nothing_is_cut_under_dotall_or_an_unknown_trailer() -> None:
    dotall = _source(rb"(?s)a.*", rb"b")
    assert engine.pcre2_source(dotall) == (dotall, False)
    other = rb"\nhead (?:a.*(?P<p_0>)|b(?P<p_1>))x$"
    assert engine.pcre2_source(other) == (other, False)


def _pack(*regexes: str) -> PackSpec:
    patterns = tuple(PatternSpec(f"p{i}", f"kind{i}", "request", regex) for i, regex in enumerate(regexes))
    return PackSpec("cut", "", "syslog", "app", patterns, ())


def _both(pack: PackSpec, data: bytes) -> tuple[list[Event], list[Event]]:
    out = []
    for which in ("python", "compiled"):
        stream = EventStream(pack, year=2024, engine=which, latest=1.7e9)
        out.append(stream.feed(data))
    return out[0], out[1]


@pytest.mark.skipif(engine.compiled is None, reason="the compiled engine is not built here")
def test_a_cut_pack_gives_the_events_of_pythons_re_line_by_line() -> None:
    pack = _pack(
        # \s can run over a newline: the match is cut back to its own line, or dropped
        r"probe\s+(?P<ip><ADDR>)\s.*",
        # backtracks out of its optional rest: the marker set before the cut is unset again
        r"status (?P<ip><ADDR>) 4\d\d(?:[ \r][^\n]*)?",
        r"status (?P<ip><ADDR>) (?:4\d\d5|\d+) tail[^\n]*",
    )
    source, cut = engine.pcre2_source(Scanner(pack).regex.pattern)
    assert cut and source.count(b"(*ACCEPT)") == 3
    head = "Oct 10 13:55:36 host app[1]: "
    lines = [
        "probe 198.51.100.1 rest of the line  ",
        "probe\n198.51.100.2 the address on the next line",
        "probe 198.51.100.3\nnext line",
        "status 198.51.100.4 404",
        "status 198.51.100.5 404 \r",
        "status 198.51.100.6 404\t",  # no rest: the trailer reads the tab
        "status 198.51.100.10 404\tdone",  # neither
        "status 198.51.100.7 4045 tail of it",
        "status 198.51.100.8 200 tail",
        "status 198.51.100.9 404x",
    ]
    data = "\n".join(head + line for line in lines).encode()
    python, compiled = _both(pack, data)
    assert python == compiled
    assert {e.key for e in python} == {
        "198.51.100.1", "198.51.100.4", "198.51.100.5", "198.51.100.6", "198.51.100.7", "198.51.100.8",
    }
    assert [e.pattern for e in python if e.key == "198.51.100.7"] == ["p2"]
    assert all(e.line.startswith(head.encode()) and b"\n" not in e.line for e in compiled)


@pytest.mark.skipif(engine.compiled is None, reason="the compiled engine is not built here")
def test_replay_can_keep_its_chunk_buffers_on_the_heap_under_glibc() -> None:
    import platform

    assert engine.compiled is not None
    assert engine.compiled.hold_heap() is (platform.libc_ver()[0] == "glibc")
