"""Rule files: parsed whole, refused with the key to fix."""

from __future__ import annotations

import pytest

from shieldwall.arsenal.rule import parse_rule
from shieldwall.errors import ArsenalError
from tests.arsenal.alliance import rule_text


def test_a_rule_is_named_by_name_and_version_and_pinned_by_its_bytes() -> None:
    rule = parse_rule(rule_text("fast-guess", 3))
    assert (rule.id, rule.target_path, rule.reads) == ("fast-guess@3", "rules/fast-guess@3.toml", "sshd")
    assert rule.sha256 == parse_rule(rule_text("fast-guess", 3)).sha256
    assert rule.sha256 != parse_rule(rule_text("fast-guess", 4)).sha256


@pytest.mark.parametrize(("edit", "message"), [
    ((b'reads = "sshd"', b'reads = "telnetd"'), "not a shipped pack"),
    ((b'packs = ["sshd"]', b'packs = ["http"]'), "scenario\\[0\\].packs"),
    ((b"threshold = 3", b"threshold = 0"), "threshold"),
    ((b"version = 1", b"version = 0"), "version"),
    ((b'name = "fast-guess"\n', b'name = "Fast Guess"\n'), "rule.name"),
    ((b"[rule]", b"[rule]\nstatus = \"stable\""), "status"),
])
def test_a_malformed_rule_is_refused_naming_the_key(edit: tuple[bytes, bytes], message: str) -> None:
    with pytest.raises(ArsenalError, match=message) as refusal:
        parse_rule(rule_text("fast-guess").replace(*edit, 1))
    assert refusal.value.reason == "invalid"


def test_a_rule_may_bring_its_own_pack() -> None:
    # A top-level key: it comes before the first table.
    text = b"""pack = '''
name = "mine"
program = "sshd"
[[patterns]]
name = "fail"
kind = "auth_failure"
regex = 'Failed password for (?P<user>\\\\S+) from (?P<ip><ADDR>) port <PORT> ssh2'
'''
""" + rule_text("own").replace(b'packs = ["sshd"]', b'packs = ["mine"]')
    rule = parse_rule(text)
    assert rule.pack is not None and rule.pack.name == "mine"


def test_binary_or_oversized_files_are_refused() -> None:
    with pytest.raises(ArsenalError, match="UTF-8"):
        parse_rule(b"\xff\xfe")
    with pytest.raises(ArsenalError, match="bytes"):
        parse_rule(b"#" * 70_000)
