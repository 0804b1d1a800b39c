"""Pack files are read by the one configuration mechanism: a misspelt key is an error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shieldwall.errors import PackError
from shieldwall.events.packs import load_pack, parse_pack

GOOD = """
name = "mine"
program = "myd"

[[patterns]]
name = "failed"
kind = "auth_failure"
regex = "failed login from <ADDR>"

[[samples]]
line = "failed login from 192.0.2.7"
ip = "192.0.2.7"
"""


def test_a_pack_reads_its_patterns_and_samples() -> None:
    pack = parse_pack(GOOD, "mine.toml")
    assert (pack.name, pack.format, pack.program, pack.path) == ("mine", "syslog", "myd", "mine.toml")
    assert [(p.name, p.kind, p.role) for p in pack.patterns] == [("failed", "auth_failure", "attempt")]
    assert [(s.ip, s.user, s.pattern) for s in pack.samples] == [("192.0.2.7", None, None)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('[[patterns]]\nname = "x"\nkind = "k"\nregx = "a"',
         "patterns[1] (x).regx: unknown key, did you mean `regex`?"),
        ('[[patterns]]\nname = "x"\nkind = "k"\nregex = "a"\nrole = "guess"',
         "patterns[1] (x).role: must be one of attempt, connect, connection, exhausted, mark, marked, "
         "pam, request; got 'guess'"),
        ('[[samples]]\nlin = "x"', "samples[1].lin: unknown key, did you mean `line`?"),
        ('[[patterns]]\nname = "failed"\nkind = "k"\nregex = "a"',
         "patterns[1].name: duplicate pattern name 'failed'"),
    ],
)
def test_pack_errors_name_the_key(change: str, message: str) -> None:
    with pytest.raises(PackError, match="^" + re.escape(f"mine.toml: {message}")):
        parse_pack(GOOD + change + "\n", "mine.toml")


def test_a_pack_whose_lines_name_a_program_needs_one_and_a_pack_needs_patterns() -> None:
    with pytest.raises(PackError, match="program: a syslog pack needs 'program'"):
        parse_pack(GOOD.replace('program = "myd"', ""), "mine.toml")
    with pytest.raises(PackError, match="program: a vsftpd pack needs 'program'"):
        parse_pack(GOOD.replace('program = "myd"', 'format = "vsftpd"'), "mine.toml")
    with pytest.raises(PackError, match=r"patterns: a pack needs \[\[patterns\]\]"):
        parse_pack('name = "x"\nprogram = "p"\npatterns = []\n', "mine.toml")


def test_a_pack_file_loads_by_path_and_unknown_names_list_the_shipped_packs(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    assert load_pack(str(path)).path == str(path)
    with pytest.raises(PackError, match="cannot read pack file"):
        load_pack(str(tmp_path / "missing.toml"))
    with pytest.raises(PackError, match=r"unknown pack 'nope'; shipped packs: .*sshd"):
        load_pack("nope")
