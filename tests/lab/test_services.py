"""Rendered service configs, stamped sshd lines and the attacker's commands."""

from __future__ import annotations

from pathlib import Path

from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream
from shieldwall.lab.alliance import Member, render_agent_config
from shieldwall.lab.attacker import http_probe_argv, ssh_attempt_argv
from shieldwall.lab.nginx import render_nginx_config
from shieldwall.lab.sshd import render_sshd_config
from shieldwall.lab.syslog import syslog_line
from shieldwall.lab.topology import plan_lab

WHEN = 1795919236.789012  # 2026-11-29T02:27:16.789012Z


def test_stamped_sshd_stderr_line_reads_like_rsyslog_high_precision() -> None:
    line = syslog_line(b"Failed password for root from 10.77.0.5 port 4000 ssh2\r\n", WHEN,
                       "a", "sshd", 123)
    assert line == (b"2026-11-29T02:27:16.789012+00:00 a sshd[123]: "
                    b"Failed password for root from 10.77.0.5 port 4000 ssh2\n")


def test_empty_stderr_line_writes_nothing() -> None:
    assert syslog_line(b"\r\n", WHEN, "a", "sshd", 1) == b""


def test_sshd_pack_blames_the_client_in_a_stamped_line_not_the_address_in_the_user() -> None:
    stream = EventStream(load_pack("sshd"), year=2026)
    events = stream.feed(syslog_line(
        b"Failed password for invalid user x 10.77.0.3 on from 10.77.0.5 port 4000 ssh2",
        WHEN, "a", "sshd", 7))
    assert [(e.key, e.kind) for e in events] == [("10.77.0.5", "auth_failure")]
    assert abs(events[0].time - WHEN) < 1e-3


def test_sshd_config_listens_only_on_the_members_lab_addresses() -> None:
    text = render_sshd_config(["10.77.0.2", "fd77::2"], 22, Path("/lab/key"))
    assert "ListenAddress 10.77.0.2\n" in text
    assert "ListenAddress [fd77::2]\n" in text
    assert "PasswordAuthentication yes" in text and "UsePAM no" in text


def test_nginx_config_keeps_everything_under_its_prefix_and_logs_combined() -> None:
    text = render_nginx_config(Path("/lab/b/nginx"), ["10.77.0.3", "fd77::3"])
    assert "access_log /lab/b/nginx/access.log combined;" in text
    assert "listen [fd77::3]:80;" in text
    paths = [line for line in text.splitlines() if "_path " in line or "pid " in line
             or "_log " in line]
    assert len(paths) == 8
    assert all("/lab/b/nginx/" in line for line in paths)


def test_attacker_binds_its_own_source_address() -> None:
    argv = ssh_attempt_argv("10.77.0.9", "10.77.0.2", "root", "pw")
    assert argv[argv.index("-b") + 1] == "10.77.0.9"
    assert argv[-2:] == ["10.77.0.2", "true"]
    assert "NumberOfPasswordPrompts=1" in argv
    assert http_probe_argv("fd77::9", "fd77::3", "/.env")[-1] == "http://[fd77::3]:80/.env"


def test_agent_config_reads_sshd_and_nginx_logs_with_the_members_allowlists(
    tmp_path: Path,
) -> None:
    from shieldwall.agent.config import parse_agent_config

    node = plan_lab(["b"], "abcd").node("b")
    member = Member("b", node, tmp_path, detect_allow=("10.77.0.50",),
                    enforce_allow=("10.77.0.50",), nginx=True)
    config = parse_agent_config(render_agent_config(member, "nftables"))
    assert [(s.kind, s.pack) for s in config.sources] == [("file", "sshd"), ("file", "http")]
    assert config.data_dir == tmp_path / "member"
    assert config.detect_allow == ("10.77.0.50",)
    assert config.enforce_allow == ("10.77.0.50",)
    assert config.backend == "nftables"
