"""``shieldwall patterns``: list, test a file line by line, check every sample."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from shieldwall.cli.main import cli

HOSTILE_AND_REAL = (
    "Feb  1 10:00:00 h sshd[9]: Failed password for invalid user x 198.51.100.23 on from "
    "192.0.2.15 port 50000 ssh2\n"
    "Feb  1 10:00:00 h sshd[9]: pam_unix(sshd:auth): check pass; user unknown\n"
    "Feb  1 10:00:01 h sshd[10]: Invalid user a from 192.0.2.16 port 50001\n"
    "Feb  1 10:00:02 h sshd[10]: Failed password for invalid user a from 192.0.2.16 port 50001 ssh2\n"
    "Feb  1 10:00:03 h sshd[11]: Connection from 192.0.2.17 port 50002 on 203.0.113.1 port 22\n"
)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["patterns", *args])
    return result.exit_code, result.output


def test_list_names_every_shipped_pack() -> None:
    code, out = _run("list", "--json")
    assert code == 0
    names = {json.loads(line)["name"] for line in out.splitlines()}
    assert {"sshd", "http", "postfix", "dovecot", "vsftpd", "proftpd"} <= names


def test_check_passes_on_the_shipped_packs() -> None:
    code, out = _run("check")
    assert code == 0, out
    assert "samples as annotated" in out


def test_check_fails_on_a_sample_that_blames_the_wrong_address(tmp_path: Path) -> None:
    pack = tmp_path / "bad.toml"
    pack.write_text(
        'name = "bad"\nformat = "syslog"\nprogram = "sshd"\n'
        "[[patterns]]\nname = \"greedy\"\nkind = \"auth_failure\"\nrole = \"request\"\n"
        "regex = 'Failed password for .* from (?P<ip><ADDR>) port <PORT> ssh2.*'\n"
        "[[samples]]\n"
        "line = \"Feb  1 10:00:00 h sshd[9]: Failed password for x from 192.0.2.1 port 1 ssh2 from "
        '198.51.100.23 port 2 ssh2"\n'
        'ip = "192.0.2.1"\n'
    )
    code, out = _run("check", "--pack", str(pack))
    assert code == 1
    assert "MISMATCH" in out and "blamed 198.51.100.23" in out


def test_test_shows_pattern_and_blame_per_line_and_why_a_line_counts_nothing(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(HOSTILE_AND_REAL)
    code, out = _run("test", str(log), "--pack", "sshd")
    assert code == 0, out
    assert "sshd/failed_auth [auth_failure] blames 192.0.2.15" in out
    assert "blames 198.51.100.23" not in out
    assert "sshd/invalid_user [auth_failure] blames 192.0.2.16" in out
    assert "already counted with its connection" in out
    assert "connection record" in out
    assert "lines that matched nothing" in out and "check pass; user unknown   [sshd]" in out
    assert "5 lines, 4 matched (2 counted), 1 matched nothing (1 of them from the packs' services)" in out


def test_test_bounds_its_output_and_can_hide_unmatched_lines(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(HOSTILE_AND_REAL * 20)
    code, out = _run("test", str(log), "--pack", "sshd", "--limit", "3", "--no-show-unmatched")
    assert code == 0
    assert out.count(" blames ") == 3
    assert "check pass" not in out
    assert "more matched lines not shown" in out


def test_test_json_gives_one_object_per_line_and_a_summary(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(HOSTILE_AND_REAL)
    code, out = _run("test", str(log), "--json")  # --pack auto
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    summary = rows[-1]
    assert summary["summary"] and summary["packs"] == ["sshd"]
    assert summary["lines"] == 5 and summary["counted"] == 2
    assert rows[0]["blamed"] == "192.0.2.15" and rows[0]["pattern"] == "failed_auth"
    assert any(r.get("pattern") is None and "check pass" in r["text"] for r in rows[:-1])


def test_test_without_a_fitting_pack_says_how_to_choose_one(tmp_path: Path) -> None:
    log = tmp_path / "cron.log"
    log.write_text("Dec 10 06:55:46 h cron[1]: (root) CMD (run-parts)\n")
    code, out = _run("test", str(log))
    assert code == 2
    assert "--pack" in out


def test_test_on_a_missing_file_exits_2() -> None:
    code, _ = _run("test", "/nonexistent/auth.log", "--pack", "sshd")
    assert code == 2
