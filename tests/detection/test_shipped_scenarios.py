"""The shipped scenarios on hand-written lines: what a new scenario catches, and what it must not."""

from __future__ import annotations

from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import default_scenarios
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream

A = "192.0.2.90"


def _detect(pack: str, lines: list[str]) -> list[tuple[str, str, int]]:
    stream = EventStream(load_pack(pack), year=2024)
    detector = Detector(default_scenarios())
    found = detector.feed(stream.feed(("\n".join(lines) + "\n").encode()))
    return [(d.key, d.scenario, d.count) for d in found]


def _postfix_pipelining(count: int, every: int) -> list[str]:
    return [
        f"Sep 19 23:{i * every // 60:02d}:{i * every % 60:02d} mail postfix/smtpd[{100 + i}]: "
        f"improper command pipelining after AUTH from unknown[{A}]: AUTH LOGIN"
        for i in range(count)
    ]


def test_ten_auth_aborts_in_five_minutes_are_detected() -> None:
    assert _detect("postfix", _postfix_pipelining(10, 30)) == [(A, "mail-auth-abort", 10)]


def test_a_mail_client_polling_every_minute_and_dropping_each_time_stays_below() -> None:
    assert _detect("postfix", _postfix_pipelining(10, 60)) == []


def test_old_postfix_auth_drops_count_once_per_connection() -> None:
    lines = []
    for i in range(10):
        lines += [
            f"Sep 19 23:00:{i:02d} mail postfix/smtpd[{100 + i}]: connect from unknown[{A}]",
            f"Sep 19 23:00:{i:02d} mail postfix/smtpd[{100 + i}]: lost connection after AUTH from "
            f"unknown[{A}]",
            f"Sep 19 23:00:{i:02d} mail postfix/smtpd[{100 + i}]: disconnect from unknown[{A}]",
        ]
    assert _detect("postfix", lines) == [(A, "mail-auth-abort", 10)]


def test_dovecot_clients_that_never_finish_sasl_are_detected() -> None:
    lines = [
        f"Aug 31 16:15:{i:02d} mail dovecot: imap-login: Disconnected (client didn't finish SASL auth, "
        f"waited 0 secs): user=<>, method=PLAIN, rip={A}, lip=192.168.1.2, TLS"
        for i in range(10)
    ]
    assert _detect("dovecot", lines) == [(A, "mail-auth-abort", 10)]


def test_exhausted_ssh_connections_reach_the_brute_force_threshold() -> None:
    # two connections that ran out of MaxAuthTries on refused keys stand for 6 guesses (one: 3)
    lines = [
        f"Feb  1 10:00:0{i} h sshd[{100 + i}]: error: maximum authentication attempts exceeded for "
        f"root from {A} port {4000 + i} ssh2 [preauth]"
        for i in range(2)
    ]
    found = _detect("sshd", lines)
    assert (A, "ssh-bruteforce", 6) in found
    assert not any(s == "ssh-bruteforce" for _, s, _ in _detect("sshd", lines[:1]))


def _proxy_probe(minute: int) -> str:
    day, rest = divmod(minute, 24 * 60)
    return (
        f'{A} - - [{10 + day:02d}/Oct/2024:{rest // 60:02d}:{rest % 60:02d}:00 +0000] '
        f'"CONNECT mail.example.net:25 HTTP/1.1" 405 0 "-" "-"'
    )


def test_open_proxy_probes_every_ten_minutes_over_hours_are_detected() -> None:
    found = _detect("http", [_proxy_probe(m) for m in range(0, 25 * 10, 10)])
    assert found == [(A, "http-slow-probing", 25)]


def test_open_proxy_probes_once_an_hour_stay_below() -> None:
    assert _detect("http", [_proxy_probe(m) for m in range(0, 24 * 60, 60)]) == []


def test_postscreen_protocol_abuse_now_counts() -> None:
    lines = [
        f"Dec 23 19:39:{i:02d} mx postfix/postscreen[21057]: PREGREET 14 after 0.08 from [{A}]:59415: "
        "EHLO ylmf-pc\\r\\n"
        for i in range(10)
    ]
    assert _detect("postfix", lines) == [(A, "mail-protocol-abuse", 10)]


def test_a_burst_of_rejects_is_reported_and_greylisting_is_not_a_reject() -> None:
    reject = (
        "Jul 12 07:47:{s:02d} mx postfix/smtpd[8738]: NOQUEUE: reject: RCPT from x.example.com[{a}]: "
        "550 5.1.1 <u{s}@example.org>: Recipient address rejected: User unknown; from=<a@b> to=<u@c> "
        "proto=ESMTP helo=<x>"
    )
    grey = reject.replace("550 5.1.1", "450 4.2.0").replace("User unknown", "Greylisted")
    assert _detect("postfix", [reject.format(s=s, a=A) for s in range(20)]) == [
        (A, "mail-reject-burst", 20)
    ]
    assert _detect("postfix", [grey.format(s=s, a=A) for s in range(30)]) == []
