"""The shipped scenarios on hand-written lines: what a new scenario catches, and what it must not."""

from __future__ import annotations

from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import default_scenarios
from shieldwall.events.packs import builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream

A = "192.0.2.90"

#: Roles whose lines never become an event (events/attempts.py): ``connect`` only remembers
#: a connection's address, ``mark`` only marks the connection for a later ``marked`` line.
MARKER_ROLES = frozenset({"connect", "mark"})
#: (pack, kind) pairs that no scenario counts because only marker patterns carry them. Adding
#: a pair here is a decision: the test below checks that each one really emits no event.
MARKER_KINDS = frozenset({("sshd", "connection"), ("sshd", "pubkey_failure")})


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


# ---- every kind a shipped pack emits is counted ----------------------------------


def _counted() -> set[tuple[str, str]]:
    """(pack, kind) pairs some shipped scenario counts: the detector routes on exactly these."""
    return {(pack, kind) for sc in default_scenarios() for pack in sc.packs for kind in sc.kinds}


def _produced() -> set[tuple[str, str]]:
    return {(p.name, x.kind) for p in map(load_pack, builtin_pack_names()) for x in p.patterns}


def test_every_kind_a_shipped_pack_emits_is_counted_by_a_shipped_scenario() -> None:
    uncounted = sorted(_produced() - _counted() - MARKER_KINDS)
    assert not uncounted, f"no shipped scenario counts these (pack, kind) pairs: {uncounted}"


def test_the_marker_kinds_are_carried_only_by_patterns_that_emit_nothing() -> None:
    for pack_name, kind in sorted(MARKER_KINDS):
        pack = load_pack(pack_name)
        carriers = [p for p in pack.patterns if p.kind == kind]
        assert carriers, f"stale marker kind {(pack_name, kind)}"
        assert {p.role for p in carriers} <= MARKER_ROLES, (pack_name, kind)
        assert (pack_name, kind) not in _counted(), f"{(pack_name, kind)} is counted: not a marker"


def test_marker_patterns_are_reached_by_samples_and_never_emit_an_event() -> None:
    # the premise of MARKER_KINDS, on the real stream: a marker line matches, counts nothing
    for name in builtin_pack_names():
        pack = load_pack(name)
        markers = {p.name for p in pack.patterns if p.role in MARKER_ROLES}
        reached: set[str] = set()
        for sample in pack.samples:
            stream = EventStream(pack, year=2024)
            events = stream.feed(sample.line.encode("utf-8", "surrogateescape") + b"\n")
            reached |= markers & set(stream.stats.per_pattern)
            assert not markers & {e.pattern for e in events}, (name, sample.line)
        assert reached == markers, f"{name}: marker patterns no sample reaches: {markers - reached}"


def test_every_scenario_counts_kinds_its_packs_emit() -> None:
    produced = _produced()
    shipped = set(builtin_pack_names())
    for sc in default_scenarios():
        assert sc.packs <= shipped, (sc.name, sorted(sc.packs - shipped))
        for kind in sc.kinds:
            assert any((p, kind) in produced for p in sc.packs), (sc.name, kind)
        for pack in sc.packs:
            assert any((pack, k) in produced for k in sc.kinds), (sc.name, pack)


# ---- exim: AUTH and quit without mail; postfix: connections dropped before mail -----


def _exim_no_mail(count: int, every: int, commands: str) -> list[str]:
    # Exim's main log with log_selector +smtp_no_mail (spec, "Log selectors"): the client
    # as `(helo) [address]:port`, the server's interface, the duration and the commands sent
    return [
        f"2024-05-06 07:{i * every // 60:02d}:{i * every % 60:02d} [{3000 + i}] no MAIL in SMTP "
        f"connection from (User) [{A}]:{40000 + i} I=[203.0.113.1]:587 D=0.{i}12s C={commands}"
        for i in range(count)
    ]


def test_ten_exim_auth_then_quit_connections_in_five_minutes_are_detected() -> None:
    # counted once each, as auth_abort only: not also as an smtp_scan (mail-protocol-abuse)
    assert _detect("exim", _exim_no_mail(10, 30, "EHLO,AUTH,QUIT")) == [(A, "mail-auth-abort", 10)]
    tls = _exim_no_mail(10, 20, "EHLO,STARTTLS,EHLO,AUTH,QUIT")
    assert _detect("exim", tls) == [(A, "mail-auth-abort", 10)]


def test_an_exim_client_polling_every_minute_and_quitting_after_auth_stays_below() -> None:
    assert _detect("exim", _exim_no_mail(10, 60, "EHLO,AUTH,QUIT")) == []


def test_ten_exim_connections_without_auth_or_mail_are_a_scan_not_an_auth_abort() -> None:
    assert _detect("exim", _exim_no_mail(10, 30, "EHLO,QUIT")) == [(A, "mail-protocol-abuse", 10)]


def _postfix_lost(after: str, count: int) -> list[str]:
    lines = []
    for i in range(count):
        pid = 200 + i
        lines += [
            f"Sep 19 23:0{i // 6}:{i % 6 * 10:02d} mail postfix/smtpd[{pid}]: connect from unknown[{A}]",
            f"Sep 19 23:0{i // 6}:{i % 6 * 10:02d} mail postfix/smtpd[{pid}]: lost connection after "
            f"{after} from unknown[{A}]",
            f"Sep 19 23:0{i // 6}:{i % 6 * 10:02d} mail postfix/smtpd[{pid}]: disconnect from "
            f"unknown[{A}] ehlo=1 commands=1",
        ]
    return lines


def test_ten_postfix_connections_dropped_before_any_mail_dialogue_are_a_scan() -> None:
    for after in ("CONNECT", "EHLO", "STARTTLS", "UNKNOWN"):
        assert _detect("postfix", _postfix_lost(after, 10)) == [(A, "mail-protocol-abuse", 10)], after
    assert _detect("postfix", _postfix_lost("EHLO", 9)) == []


def test_postfix_connections_lost_during_data_are_no_scan() -> None:
    assert _detect("postfix", _postfix_lost("DATA", 30)) == []
