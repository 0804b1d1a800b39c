"""journald JSON -> syslog-like lines, trusting journald's own fields only.

Recorded input: tests/sources/recorded/journal_sshd.jsonl (see the README beside it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shieldwall.errors import ConfigError
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream
from shieldwall.sources.journal_entry import (
    SSHD,
    JournalConverter,
    JournalSelector,
    entry_line,
    field_bytes,
    iso_time,
    journalctl_argv,
    selector_for,
)

RECORDED = Path(__file__).parent / "recorded" / "journal_sshd.jsonl"


def recorded() -> list[dict[str, object]]:
    return [json.loads(line) for line in RECORDED.read_text().splitlines()]


def test_recorded_forgeries_are_dropped_and_real_sshd_entries_kept() -> None:
    converter = JournalConverter(SSHD)
    out = converter.convert(RECORDED.read_bytes())
    lines = out.splitlines()
    assert converter.stats.entries == 6
    assert converter.stats.kept == 4
    assert converter.stats.untrusted == 2
    assert b"198.51.100.7" in lines[0] and b" sshd[" in lines[0]
    assert b"203.0.113.9" in lines[1] and b" sshd-session[" in lines[1]
    # Root's logger whose name journald could not read: only root can send uid 0.
    assert b"192.0.2.66" in lines[2] and b" sshd[" in lines[2]
    # Forged by a user (uid 65534 named sshd) or tagged sshd by `logger`: dropped.
    assert b"192.0.2.77" not in out
    assert len(lines) == 4


def test_logger_t_sshd_entry_is_dropped_though_its_identifier_says_sshd() -> None:
    forged = [e for e in recorded() if e.get("_COMM") == "logger"]
    assert forged and forged[0]["SYSLOG_IDENTIFIER"] == "sshd"
    assert not SSHD.trusts(forged[0])


def test_process_named_sshd_that_is_not_root_is_not_trusted() -> None:
    renamed = [e for e in recorded() if e.get("_UID") == "65534"]
    assert renamed and renamed[0]["_COMM"] == "sshd"
    assert not SSHD.trusts(renamed[0])


def test_entry_whose_comm_was_lost_is_trusted_on_its_identifier_only_from_root() -> None:
    lost = next(e for e in recorded() if "_COMM" not in e)
    assert lost["_UID"] == "0" and lost["SYSLOG_IDENTIFIER"] == "sshd"
    assert SSHD.trusts(lost)
    # The same race from a local user's `logger -t sshd`: its kernel-given uid betrays it.
    assert not SSHD.trusts({**lost, "_UID": "1000"})
    assert not SSHD.trusts({**lost, "SYSLOG_IDENTIFIER": "cron"})
    line = entry_line(lost)
    assert line is not None and b" sshd[" in line


def test_without_a_uid_restriction_a_lost_comm_is_not_replaced() -> None:
    anyone = selector_for(comms=["smtpd"], uids=[])
    assert not anyone.trusts({"SYSLOG_IDENTIFIER": "smtpd", "_UID": "1000"})


def test_unit_restriction_requires_the_unit_when_given() -> None:
    selector = JournalSelector(comms=frozenset({"sshd"}), units=frozenset({"ssh.service"}))
    entry = {"_COMM": "sshd", "_UID": "0", "_SYSTEMD_UNIT": "ssh.service"}
    assert selector.trusts(entry)
    assert not selector.trusts({**entry, "_SYSTEMD_UNIT": "session-3.scope"})


def test_empty_uid_set_accepts_any_user() -> None:
    selector = JournalSelector(comms=frozenset({"smtpd"}), uids=frozenset())
    assert selector.trusts({"_COMM": "smtpd", "_UID": "107"})


def test_newline_inside_a_binary_message_cannot_start_a_second_line() -> None:
    binary = next(e for e in recorded() if isinstance(e.get("MESSAGE"), list))
    line = entry_line(binary)
    assert line is not None
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert b"#012sshd[1]: Failed password for root from 192.0.2.88" in line
    assert line.endswith(b"ssh2 \xff\n")  # invalid UTF-8 passes through as bytes


def test_line_has_iso_time_host_comm_and_pid() -> None:
    entry = {
        "__REALTIME_TIMESTAMP": "1795920294148545",
        "_HOSTNAME": "web-1",
        "_COMM": "sshd",
        "_PID": "812",
        "MESSAGE": "Connection closed by 192.0.2.4 port 5 [preauth]\r",
    }
    assert entry_line(entry) == (
        b"2026-11-29T02:44:54.148545+00:00 web-1 sshd[812]: "
        b"Connection closed by 192.0.2.4 port 5 [preauth]#015\n"
    )


def test_missing_host_and_pid_still_give_a_line_and_odd_hosts_are_one_word() -> None:
    entry = {"__REALTIME_TIMESTAMP": "0", "_COMM": "sshd", "MESSAGE": "m\n"}
    assert entry_line(entry) == b"1970-01-01T00:00:00.000000+00:00 localhost sshd: m\n"
    entry["_HOSTNAME"] = "bad host\n"
    assert entry_line(entry) == b"1970-01-01T00:00:00.000000+00:00 bad_host_ sshd: m\n"


def test_entries_without_time_or_message_are_unusable() -> None:
    assert entry_line({"_COMM": "sshd", "MESSAGE": "m"}) is None
    assert entry_line({"_COMM": "sshd", "__REALTIME_TIMESTAMP": "x1", "MESSAGE": "m"}) is None
    assert entry_line({"_COMM": "sshd", "__REALTIME_TIMESTAMP": "1", "MESSAGE": None}) is None


def test_field_values_string_bytes_and_repeated() -> None:
    assert field_bytes("é") == "é".encode()
    assert field_bytes([104, 105]) == b"hi"
    assert field_bytes(["first", "second"]) == b"first"
    assert field_bytes([]) is None
    assert field_bytes(None) is None
    assert field_bytes([300]) is None


def test_malformed_json_lines_are_counted_and_the_cursor_still_advances() -> None:
    converter = JournalConverter(SSHD)
    chunk = (
        b"not json\n[1,2]\n\n"
        + json.dumps({"__CURSOR": "c1", "_COMM": "cron", "_UID": "0"}).encode()
        + b"\n"
        + json.dumps({"__CURSOR": "c2", "_COMM": "sshd", "_UID": "0"}).encode()
        + b"\n"
    )
    assert converter.convert(chunk) == b""
    assert converter.stats.malformed == 3
    assert converter.stats.untrusted == 1
    assert converter.cursor == "c2"


def test_converted_lines_are_read_by_the_sshd_pack() -> None:
    out = JournalConverter(SSHD).convert(RECORDED.read_bytes())
    stream = EventStream(load_pack("sshd"), year=2026)
    events = stream.feed(out)
    blamed = {str(e.key) for e in events}
    assert "198.51.100.7" in blamed
    assert "203.0.113.9" in blamed
    # Not the user's forgery, nor the second "line" smuggled inside a message.
    assert not blamed & {"192.0.2.77", "192.0.2.88"}


def test_iso_time_is_utc_with_microseconds() -> None:
    assert iso_time(1_000_000 * 86400 + 5) == b"1970-01-02T00:00:00.000005+00:00"


def test_journalctl_argv_is_a_list_with_trusted_matches_and_resume_point() -> None:
    argv = journalctl_argv(SSHD, cursor="s=abc;i=5")
    assert argv[:3] == ["journalctl", "--follow", "--output=json"]
    assert "--after-cursor=s=abc;i=5" in argv
    assert "--lines=0" not in argv
    assert {"_COMM=sshd", "_COMM=sshd-session", "_COMM=sshd-auth", "_UID=0"} <= set(argv)
    assert SSHD.match_args() == [
        "_COMM=sshd", "_COMM=sshd-auth", "_COMM=sshd-session", "_UID=0", "+",
        "SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-auth",
        "SYSLOG_IDENTIFIER=sshd-session", "_UID=0",
    ]
    assert argv[-len(SSHD.match_args()):] == SSHD.match_args()
    assert "--lines=0" in journalctl_argv(SSHD, cursor=None)
    assert "--no-tail" in journalctl_argv(SSHD, cursor=None, from_start=True)
    assert "--namespace=t" in journalctl_argv(SSHD, cursor=None, namespace="t")


def test_selector_from_configuration_lists_is_root_only_unless_told() -> None:
    by_unit = selector_for(units=["ssh.service"])
    assert by_unit.trusts({"_COMM": "anything", "_UID": "0", "_SYSTEMD_UNIT": "ssh.service"})
    # Without pam_systemd a user's session stays in ssh.service: the uid tells it apart.
    assert not by_unit.trusts({"_COMM": "logger", "_UID": "1000", "_SYSTEMD_UNIT": "ssh.service"})
    postfix = selector_for(comms=["smtpd"], uids=["107"])
    assert postfix.trusts({"_COMM": "smtpd", "_UID": "107"})
    assert by_unit.label == "ssh.service" and postfix.label == "smtpd" and SSHD.label == "sshd"


def test_selector_without_comms_or_units_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs comms"):
        selector_for()


def test_match_args_for_units_only_and_for_any_user() -> None:
    assert selector_for(units=["ssh.service"]).match_args() == ["_UID=0", "_SYSTEMD_UNIT=ssh.service"]
    assert selector_for(comms=["smtpd"], uids=[]).match_args() == ["_COMM=smtpd"]


def test_entry_without_cursor_keeps_the_previous_cursor() -> None:
    converter = JournalConverter(SSHD, cursor="before")
    entry = {"_COMM": "sshd", "_UID": "0", "__REALTIME_TIMESTAMP": "1", "MESSAGE": "m"}
    assert converter.convert(json.dumps(entry).encode() + b"\n").endswith(b"sshd: m\n")
    assert converter.cursor == "before"
