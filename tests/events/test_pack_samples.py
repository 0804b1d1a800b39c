"""Every shipped pack's annotated samples behave as annotated.

A sample names the address it must blame (or none, for hostile, success and
host-name lines), and the pattern that must match it. Each sample is fed on its
own to a fresh stream, as ``shieldwall patterns check`` does.
"""

from __future__ import annotations

import pytest

from shieldwall.events.packs import PackSpec, Sample, builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream

PACKS = {name: load_pack(name) for name in builtin_pack_names()}
SAMPLES = [
    pytest.param(pack, sample, id=f"{name}-{index}")
    for name, pack in PACKS.items()
    for index, sample in enumerate(pack.samples)
]


def test_every_pack_ships_samples_and_the_extra_packs_exist() -> None:
    assert {"sshd", "http", "postfix", "dovecot", "vsftpd", "proftpd", "pureftpd"} <= set(PACKS)
    for pack in PACKS.values():
        assert pack.samples, pack.name


@pytest.mark.parametrize(("pack", "sample"), SAMPLES)
def test_sample_blames_what_its_annotation_says(pack: PackSpec, sample: Sample) -> None:
    events = EventStream(pack, year=2024).feed(sample.line.encode("utf-8", "surrogateescape"))
    blamed = events[0].key if events else None
    assert blamed == sample.ip, sample.note or sample.line
    if sample.pattern is not None:
        assert events and events[0].pattern == sample.pattern
    if sample.user is not None:
        assert events and events[0].user == sample.user


@pytest.mark.parametrize("name", sorted(PACKS))
def test_every_pattern_has_a_sample_that_reaches_it(name: str) -> None:
    pack = PACKS[name]
    named = {s.pattern for s in pack.samples if s.pattern}
    unsampled = [p.name for p in pack.patterns if p.name not in named and p.role not in ("connect", "mark")]
    assert not unsampled, f"{name}: patterns without a sample: {unsampled}"


@pytest.mark.parametrize("name", sorted(PACKS))
def test_every_pack_has_hostile_samples_that_blame_nobody(name: str) -> None:
    assert any(s.ip is None for s in PACKS[name].samples), name


@pytest.mark.parametrize(("pack", "sample"), SAMPLES)
def test_crlf_line_endings_change_neither_blame_nor_user(pack: PackSpec, sample: Sample) -> None:
    data = sample.line.replace("\n", "\r\n").encode("utf-8", "surrogateescape") + b"\r\n"
    events = EventStream(pack, year=2024).feed(data)
    assert (events[0].key if events else None) == sample.ip
    for event in events:
        assert event.user is None or "\r" not in event.user
    if sample.user is not None:
        assert events[0].user == sample.user
