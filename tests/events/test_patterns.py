"""The one-regex scanner: one match per line, never across lines."""

from __future__ import annotations

import dataclasses

import pytest

from shieldwall.events.packs import PatternSpec, builtin_pack_names, load_pack
from shieldwall.events.patterns import Scanner

_SAMPLES = [
    (name, sample.line)
    for name in builtin_pack_names()
    for sample in load_pack(name).samples
    if sample.pattern
]


@pytest.mark.parametrize("pack_name,line", _SAMPLES, ids=[f"{p}:{line[:50]}" for p, line in _SAMPLES])
def test_a_match_never_swallows_the_next_line(pack_name: str, line: str) -> None:
    """A pattern that could run over a newline (``\\s``, ``[^x]``) would hide the next event."""
    scanner = Scanner(load_pack(pack_name))
    text = line.encode("utf-8", "surrogateescape")
    once = list(scanner.scan(text))
    thrice = list(scanner.scan((text + b"\n") * 3))
    assert len(thrice) == 3 * len(once)
    assert all(b"\n" not in raw[-1] for raw in thrice)


def test_a_pattern_that_could_run_over_lines_is_cut_to_its_own_line() -> None:
    sshd = load_pack("sshd")
    greedy = PatternSpec(name="greedy", kind="k", role="attempt",
                         regex='Failed publickey for (?P<user>[^"]*) from (?P<ip><ADDR>) port <PORT> ssh2')
    plain = next(p for p in sshd.patterns if p.name == "failed_auth")
    pack = dataclasses.replace(sshd, patterns=(greedy, plain))
    data = (b"Dec 10 06:55:48 h sshd[1]: Failed publickey for a from 192.0.2.1 port 1 ssh2\n"
            b"Dec 10 06:55:49 h sshd[2]: Failed password for root from 192.0.2.2 port 2 ssh2\n"
            b"Dec 10 06:55:50 h sshd[3]: Failed publickey for b from 192.0.2.3 port 3 ssh2 trailing\n"
            b"Dec 10 06:55:51 h sshd[4]: Failed password for root from 192.0.2.4 port 4 ssh2\n")
    found = [(pack.patterns[raw[0]].name, raw[2]) for raw in Scanner(pack).scan(data)]
    assert found == [("greedy", b"192.0.2.1"), ("failed_auth", b"192.0.2.2"),
                     ("failed_auth", b"192.0.2.4")]


def test_single_pattern_packs_compile_and_match() -> None:
    sshd = load_pack("sshd")
    only = type(sshd)(
        name="one", description="", format="syslog", program="sshd",
        patterns=(sshd.patterns[0],), samples=(),
    )
    scanner = Scanner(only)
    line = b"Dec 10 06:55:48 h sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2"
    raw = scanner.match_line(line)
    assert raw is not None and raw[2] == b"192.0.2.1"
