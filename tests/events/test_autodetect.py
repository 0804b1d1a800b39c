"""``--pack auto`` chooses packs from a file's first lines."""

from __future__ import annotations

import pytest

from shieldwall.events.autodetect import (
    SNIFF_BYTES,
    SNIFF_WHOLE,
    PackSniffer,
    choose_packs,
    complete_lines,
)
from shieldwall.events.packs import PackSpec, builtin_pack_names, load_pack
from tests.conftest import shared_data

EVERY = [load_pack(name) for name in builtin_pack_names()]


def _names(packs: list[PackSpec]) -> list[str]:
    return [p.name for p in packs]


@pytest.mark.parametrize(
    ("line", "pack"),
    [
        (b"Dec 10 06:55:46 h sshd[1]: Accepted publickey for a from 192.0.2.1 port 22 ssh2\n", "sshd"),
        (b'192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "x"\n', "http"),
        (b"May 11 04:02:36 h postfix/smtpd[2]: connect from unknown[192.0.2.1]\n", "postfix"),
        (b"Jan 15 08:00:00 h dovecot: imap-login: Login: user=<a>, rip=192.0.2.1, lip=10.0.0.1\n", "dovecot"),
        (b'Sep  8 00:39:49 ftp vsftpd[5]: [a] OK LOGIN: Client "192.0.2.1"\n', "vsftpd"),
        (b"Jan  7 18:26:02 ftp proftpd[8]: s (c[192.0.2.1]) - FTP session opened.\n", "proftpd"),
        (b"Jan  7 14:20:06 ftp pure-ftpd: (?@192.0.2.1) [INFO] New connection from 192.0.2.1\n", "pureftpd"),
        (b"2016-03-21 06:57:36 [5908] 1ahr79-0006jK-G9 <= a@example.com H=m.example.org [192.0.2.1] "
         b"P=esmtps S=1234\n", "exim"),
        (b"Jun 29 16:04:19 server exim[1234]: Start queue run: pid=1234\n", "exim"),
        (b"2024/10/10 13:55:36 [notice] 1#1: *2 signal process started, client: 192.0.2.1, server: x\n",
         "nginx-error"),
        (b"[Thu Oct 10 13:55:36.1 2024] [ssl:info] [pid 1] [client 192.0.2.1:5] AH01964: Connection\n",
         "apache-error"),
    ],
)
def test_a_lawful_line_of_a_service_chooses_its_pack(line: bytes, pack: str) -> None:
    assert _names(choose_packs(line, EVERY)) == [pack]


def test_a_failure_line_chooses_its_pack_without_a_detect_literal() -> None:
    # Old Linux hosts write sshd(pam_unix)[pid], which holds none of sshd's literals.
    line = (
        b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 "
        b"euid=0 tty=NODEVssh ruser= rhost=218.188.2.4\n"
    )
    assert _names(choose_packs(line, EVERY)) == ["sshd"]


def test_a_literal_quoted_inside_another_service_line_chooses_nothing_more() -> None:
    line = b'192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET /sshd[1]/postfix/smtpd[ HTTP/1.1" 200 5\n'
    assert _names(choose_packs(line, EVERY)) == ["http"]


def test_a_file_of_no_known_service_chooses_no_pack() -> None:
    assert choose_packs(b"Dec 10 06:55:46 h cron[1]: (root) CMD (run-parts)\n", EVERY) == []


def test_a_mixed_syslog_file_chooses_every_service_in_it() -> None:
    sample = (
        b"Dec 10 06:55:46 h sshd[1]: Invalid user a from 192.0.2.1 port 22\n"
        b"Dec 10 06:55:47 h postfix/smtpd[2]: warning: unknown[192.0.2.2]: SASL LOGIN "
        b"authentication failed: x\n"
    )
    assert _names(choose_packs(sample, EVERY)) == ["postfix", "sshd"]


def test_only_complete_lines_are_judged() -> None:
    cut = b"Dec 10 06:55:46 h cron[1]: ok\nDec 10 06:55:46 h sshd[1]: Invalid user a from 192.0"
    assert complete_lines(cut).endswith(b"ok\n")
    assert choose_packs(cut, EVERY) == []
    assert _names(choose_packs(cut + b".2.1", EVERY, whole_file=True)) == ["sshd"]


def test_only_the_first_64_kib_are_looked_at() -> None:
    filler = b"Dec 10 06:55:46 h cron[1]: (root) CMD (run-parts)\n" * (SNIFF_BYTES // 40)
    late = b"Dec 10 06:55:46 h sshd[1]: Invalid user a from 192.0.2.1 port 22\n"
    assert choose_packs(filler + late, EVERY) == []


@pytest.mark.parametrize(
    ("parts", "pack"),
    [
        (("loghub", "OpenSSH_2k.log"), "sshd"),
        (("loghub", "Linux_2k.log"), "sshd"),
        (("honeynet-chuvakin-httpd", "httpd", "access_log.1"), "http"),
        (("crowdsec-hub-tests", "postfix-sasl-bf", "postfix-sasl-bf.log"), "postfix"),
        (("crowdsec-hub-tests", "dovecot-logs", "dovecot-logs.log"), "dovecot"),
    ],
)
def test_real_logs_choose_their_pack(parts: tuple[str, ...], pack: str) -> None:
    data = shared_data(*parts).read_bytes()[:SNIFF_BYTES]
    assert pack in _names(choose_packs(data, EVERY, whole_file=True))


# ---- PackSniffer: a whole file, chunk after chunk ------------------------------

CRON = b"Dec 10 06:55:46 h cron[1]: (root) CMD (run-parts)\n"
SSHD = b"Dec 10 06:55:47 h sshd[7]: Invalid user a from 192.0.2.1 port 22\n"
POSTFIX = (
    b"Dec 10 06:55:48 h postfix/smtpd[2]: warning: unknown[192.0.2.2]: SASL LOGIN "
    b"authentication failed: x\n"
)


def test_a_pack_whose_lines_start_after_megabytes_of_other_services_is_still_chosen() -> None:
    sniffer = PackSniffer(EVERY)
    filler = CRON * (2 * 1024 * 1024 // len(CRON))
    assert sniffer.observe(filler) == []
    assert sniffer.observe(filler) == []
    chosen = sniffer.observe(CRON + SSHD)
    assert [c.pack.name for c in chosen] == ["sshd"]
    # the line number counts every line of the file so far, and the reason names the pattern
    assert chosen[0].line == 2 * filler.count(b"\n") + 2
    assert chosen[0].describe() == f"sshd (line {chosen[0].line} matches its pattern invalid_user)"


def test_a_service_that_appears_later_in_a_mixed_file_joins_the_chosen_packs() -> None:
    sniffer = PackSniffer(EVERY)
    assert [c.pack.name for c in sniffer.observe(SSHD * 10)] == ["sshd"]
    assert [c.pack.name for c in sniffer.observe(CRON * 10 + POSTFIX)] == ["postfix"]
    assert [c.pack.name for c in sniffer.chosen] == ["sshd", "postfix"]
    assert sniffer.observe(SSHD + POSTFIX) == []  # each pack is chosen once


def test_after_a_choice_later_chunks_are_only_sampled_at_their_start() -> None:
    sniffer = PackSniffer(EVERY)
    sniffer.observe(SSHD * (SNIFF_WHOLE // len(SSHD) + 1))
    late = CRON * (SNIFF_BYTES // len(CRON) + 1) + POSTFIX
    assert sniffer.observe(late) == []  # the bound that keeps sniffing cheap
    assert [c.pack.name for c in sniffer.observe(POSTFIX + late)] == ["postfix"]


ACCESS = b'192.0.2.9 - - [10/Oct/2024:13:55:36 +0000] "GET /sshd[1]: x HTTP/1.1" 404 5 "-" "x"\n'


def test_a_web_servers_own_log_ends_the_search_once_its_pack_is_chosen() -> None:
    sniffer = PackSniffer(EVERY)
    assert [c.pack.name for c in sniffer.observe(ACCESS * 10)] == ["http"]
    assert not sniffer.searching  # an access log holds no other program's lines
    assert sniffer.observe(SSHD + POSTFIX) == []


def test_access_lines_that_came_through_syslog_keep_the_search_open() -> None:
    sniffer = PackSniffer(EVERY)
    via_syslog = b"Dec 10 06:55:45 h nginx[3]: " + ACCESS
    assert [c.pack.name for c in sniffer.observe(CRON + via_syslog * 10)] == ["http"]
    assert sniffer.searching  # a syslog file: other programs' lines may follow
    assert [c.pack.name for c in sniffer.observe(SSHD)] == ["sshd"]


def test_a_syslog_file_keeps_the_search_open_after_its_first_pack() -> None:
    sniffer = PackSniffer(EVERY)
    assert [c.pack.name for c in sniffer.observe(SSHD)] == ["sshd"]
    assert sniffer.searching


def test_the_callers_line_count_numbers_the_choosing_line() -> None:
    sniffer = PackSniffer(EVERY)
    assert sniffer.observe(CRON * 3, lines_before=0) == []
    # the caller says 1,000 lines came before (its own count): the sniffer does not count
    (chosen,) = sniffer.observe(CRON + SSHD, lines_before=1000)
    assert chosen.line == 1002


def test_a_line_with_the_header_and_program_but_no_pattern_chooses_its_pack() -> None:
    chosen = PackSniffer(EVERY).observe(
        b"Dec 10 06:55:46 h sshd[1]: Server listening on 0.0.0.0 port 22.\n"
    )
    assert [(c.pack.name, c.reason) for c in chosen] == [("sshd", "has its header and names it ('sshd')")]


def test_no_known_service_chooses_nothing_and_keeps_searching() -> None:
    sniffer = PackSniffer(EVERY)
    assert sniffer.observe(CRON * 100) == []
    assert sniffer.searching and sniffer.chosen == []


@pytest.mark.parametrize(
    ("line", "pack"),
    [
        (b"<38>1 2024-07-02T10:11:12+02:00 h sshd 812 - - Invalid user a from 192.0.2.1 port 22\n", "sshd"),
        (b"<38>1 2024-07-02T10:11:12+02:00 h imap-login 9 - - Disconnected (auth failed, 1 attempts): "
         b"user=<a>, method=PLAIN, rip=192.0.2.1, lip=10.0.0.1\n", "dovecot"),
        (b"<38>1 2024-07-02T10:11:12+02:00 h vsftpd - - - [a] FAIL LOGIN: Client \"192.0.2.1\"\n", "vsftpd"),
    ],
)
def test_an_rfc5424_header_names_its_program_without_the_bsd_punctuation(line: bytes, pack: str) -> None:
    assert pack in [c.pack.name for c in PackSniffer(EVERY).observe(line)]


def test_a_program_name_inside_another_services_message_does_not_choose_its_pack() -> None:
    # "auth" (dovecot's auth process) is in every sshd PAM line; only "auth: ", "auth["
    # or RFC 5424's "auth " after a header name that program.
    pam = (b"Dec 10 06:55:46 h sshd[7]: pam_unix(sshd:auth): authentication failure; logname= "
           b"uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1\n")
    assert [c.pack.name for c in PackSniffer(EVERY).observe(pam * 50)] == ["sshd"]
