"""Every shipped pack's annotated samples behave as annotated.

A sample names the address it must blame (or none, for hostile, success and
host-name lines), and the pattern that must match it. Each sample is fed on its
own to a fresh stream, as ``shieldwall patterns check`` does.
"""

from __future__ import annotations

import pytest

from shieldwall.addresses import blame_key_from_text
from shieldwall.events.packs import PackSpec, Sample, builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream

#: Every pack Shieldwall ships, by name: removing one (or renaming its file) must fail
#: here rather than silently shrink every test that iterates over the shipped packs.
SHIPPED_PACKS = (
    "apache-error", "dovecot", "exim", "http", "nginx-error", "postfix", "proftpd", "pureftpd",
    "sshd", "vsftpd",
)
#: The address the hostile samples (and tests/events/test_blame_security.py) inject into
#: client text - a user name, HELO, request, user agent - in every form a pack could read.
INJECTED = ("198.51.100.23", "2001:db8:bad::23")

PACKS = {name: load_pack(name) for name in builtin_pack_names()}
SAMPLES = [
    pytest.param(pack, sample, id=f"{name}-{index}")
    for name, pack in PACKS.items()
    for index, sample in enumerate(pack.samples)
]


def test_every_pack_ships_samples_and_the_extra_packs_exist() -> None:
    # equality: a new pack must be added here too, so this list stays the inventory
    assert sorted(PACKS) == sorted(SHIPPED_PACKS)
    for name, pack in PACKS.items():
        assert pack.name == name, "scenarios route events by the pack's name: it must be its file's"
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


def _is_hostile(pack: PackSpec, sample: Sample) -> bool:
    """Whether ``sample`` plants the injected address in client text and the pack resists it.

    A sample is hostile when its line holds the injected address, that address is not the
    client the sample blames (a few samples use it as the real peer), the sample explains
    itself in a note, and the pack blames nobody or only the sample's own client for it. A
    plain success line names only its real client, never the injected address, so "blames
    nobody" alone (the old rule) no longer counts as a hostile sample.
    """
    if not any(address in sample.line for address in INJECTED) or not sample.note:
        return False
    if sample.ip in {blame_key_from_text(address) for address in INJECTED}:
        return False
    events = EventStream(pack, year=2024).feed(sample.line.encode("utf-8", "surrogateescape") + b"\n")
    blamed = {e.key for e in events}
    return blamed <= ({sample.ip} if sample.ip else set())


@pytest.mark.parametrize("name", sorted(PACKS))
def test_every_pack_has_hostile_samples_that_blame_nobody_or_the_real_client(name: str) -> None:
    pack = PACKS[name]
    hostile = [s for s in pack.samples if _is_hostile(pack, s)]
    assert hostile, f"{name}: no sample injects {INJECTED[0]} into client text"


def test_a_success_line_is_not_a_hostile_sample() -> None:
    success = Sample("Feb  1 10:00:00 h sshd[9]: Accepted password for alice from 192.0.2.14 port 50000 ssh2",
                     None, note="a success is not a failure")
    assert not _is_hostile(PACKS["sshd"], success)


@pytest.mark.parametrize(("pack", "sample"), SAMPLES)
def test_crlf_line_endings_change_neither_blame_nor_user(pack: PackSpec, sample: Sample) -> None:
    data = sample.line.replace("\n", "\r\n").encode("utf-8", "surrogateescape") + b"\r\n"
    events = EventStream(pack, year=2024).feed(data)
    assert (events[0].key if events else None) == sample.ip
    for event in events:
        assert event.user is None or "\r" not in event.user
    if sample.user is not None:
        assert events[0].user == sample.user
