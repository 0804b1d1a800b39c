"""What `shieldwall up` follows on a stock host, and what it says it cannot watch."""

from __future__ import annotations

from collections.abc import Callable

from shieldwall.sources.discover import DiscoveredSource, discover


def only(*paths: str) -> Callable[[str], bool]:
    """A file test for a host holding exactly these logs."""
    return lambda path: path in paths


def test_debian_auth_log_is_followed_with_the_sshd_pack() -> None:
    found = discover(only("/var/log/auth.log"), journal_problem=None)
    assert found.sources == [DiscoveredSource("file", "/var/log/auth.log", "sshd")]
    assert found.unwatched == []


def test_rhel_secure_log_is_followed_when_there_is_no_auth_log() -> None:
    found = discover(only("/var/log/secure"), journal_problem="journald is not running here")
    assert found.sources == [DiscoveredSource("file", "/var/log/secure", "sshd")]


def test_the_journal_is_read_for_sshd_only_when_no_file_has_it() -> None:
    assert discover(only(), journal_problem=None).sources == [DiscoveredSource("journald", "", "sshd")]
    assert [s.kind for s in discover(only("/var/log/auth.log"), journal_problem=None).sources] == ["file"]


def test_without_a_log_file_or_a_readable_journal_sshd_is_reported_unwatched_with_a_fix() -> None:
    found = discover(only("/var/log/nginx/access.log"), journal_problem="journald is not running here")
    assert [s.pack for s in found.sources] == ["http"]
    (sentence,) = found.unwatched
    assert sentence.startswith("sshd is not watched")
    assert "journald is not running here" in sentence
    assert "rsyslog" in sentence and "[[sources]]" in sentence


def test_every_web_access_log_present_is_followed_and_the_mail_log_once() -> None:
    found = discover(
        only("/var/log/auth.log", "/var/log/nginx/access.log", "/var/log/apache2/access.log",
             "/var/log/mail.log", "/var/log/maillog"),
        journal_problem="journald is not running here",
    )
    assert [(s.path, s.pack) for s in found.sources] == [
        ("/var/log/auth.log", "sshd"),
        ("/var/log/nginx/access.log", "http"),
        ("/var/log/apache2/access.log", "http"),
        ("/var/log/mail.log", "postfix"),
    ]


def test_vsftpds_own_log_is_followed_with_the_vsftpd_pack() -> None:
    found = discover(only("/var/log/auth.log", "/var/log/vsftpd.log"), journal_problem=None)
    assert found.sources == [DiscoveredSource("file", "/var/log/auth.log", "sshd"),
                             DiscoveredSource("file", "/var/log/vsftpd.log", "vsftpd")]
