"""Connection accounting: each failed attempt counts once, whatever lines it writes."""

from __future__ import annotations

import pytest

from shieldwall.events import attempts
from shieldwall.events.attempts import CONNECTION_IDLE, ConnectionTable
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream

A = "192.0.2.1"
B = "192.0.2.2"


def sshd(lines: list[str]) -> list[tuple[str, str, int]]:
    stream = EventStream(load_pack("sshd"), year=2024)
    data = "".join(f"Dec 10 06:55:{i:02d} h sshd[{line}\n" for i, line in enumerate(lines))
    return [(e.key, e.pattern, e.weight) for e in stream.feed(data.encode())]


def test_one_failed_password_counts_once() -> None:
    events = sshd([
        f"100]: Invalid user oracle from {A} port 4000",
        "100]: pam_unix(sshd:auth): check pass; user unknown",
        f"100]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={A}",
        f"100]: Failed password for invalid user oracle from {A} port 4000 ssh2",
    ])
    assert sum(w for _, _, w in events) == 1


def test_each_further_password_of_a_connection_counts() -> None:
    events = sshd([
        f"100]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={A}",
        f"100]: Failed password for root from {A} port 4000 ssh2",
        f"100]: Failed password for root from {A} port 4000 ssh2",
        f"100]: Failed password for root from {A} port 4000 ssh2",
    ])
    assert sum(w for _, _, w in events) == 3


def test_two_connections_count_separately() -> None:
    events = sshd([
        f"100]: Failed password for root from {A} port 4000 ssh2",
        f"101]: Failed password for root from {A} port 4001 ssh2",
    ])
    assert [w for _, _, w in events] == [1, 1]


def test_a_connection_line_counts_only_when_nothing_else_did() -> None:
    table = ConnectionTable()
    assert table.weigh("attempt", b"1", A, 1, 0.0) == (A, 1)
    assert table.weigh("connection", b"1", A, 1, 1.0) == (A, 0)
    assert table.weigh("connection", b"2", A, 1, 1.0) == (A, 1)
    assert table.weigh("connection", b"2", A, 1, 2.0) == (A, 0)
    # ...and the attempt it already stood for is not counted again.
    assert table.weigh("attempt", b"2", A, 1, 3.0) == (A, 0)
    assert table.weigh("attempt", b"2", A, 1, 4.0) == (A, 1)


def test_pam_absorbs_the_attempt_that_follows_and_credits_weight() -> None:
    table = ConnectionTable()
    assert table.weigh("pam", b"1", A, 1, 0.0) == (A, 1)
    assert table.weigh("pam", b"1", A, 2, 0.0) == (A, 1)  # one credit used, two given
    assert table.weigh("attempt", b"1", A, 3, 0.0) == (A, 1)
    assert table.weigh("attempt", b"1", A, 1, 0.0) == (A, 1)


def test_a_connect_line_lends_its_address_to_later_address_free_lines() -> None:
    table = ConnectionTable()
    assert table.weigh("connect", b"7", B, 1, 0.0) == (None, 0)
    assert table.weigh("connection", b"7", None, 1, 1.0) == (B, 1)
    assert table.weigh("connection", b"8", None, 1, 1.0) == (None, 0)  # unknown connection


def test_a_recycled_pid_after_idle_time_is_a_new_connection() -> None:
    table = ConnectionTable()
    table.weigh("connection", b"7", A, 1, 0.0)
    assert table.weigh("connection", b"7", A, 1, CONNECTION_IDLE + 1) == (A, 1)


def test_another_client_on_the_same_pid_is_a_new_connection() -> None:
    table = ConnectionTable()
    table.weigh("connection", b"7", A, 1, 0.0)
    assert table.weigh("connection", b"7", B, 1, 1.0) == (B, 1)


def test_lines_without_a_connection_id_count_on_their_own() -> None:
    table = ConnectionTable()
    assert table.weigh("attempt", None, A, 3, 0.0) == (A, 3)
    assert table.weigh("connection", None, A, 3, 0.0) == (A, 1)
    assert table.weigh("request", b"1", A, 2, 0.0) == (A, 2)
    assert table.weigh("connect", None, A, 1, 0.0) == (None, 0)
    assert table.weigh("attempt", None, None, 1, 0.0) == (None, 0)
    assert len(table) == 0


def test_idle_connections_are_swept() -> None:
    table = ConnectionTable()
    for pid in range(100):
        table.weigh("connect", b"%d" % pid, A, 1, 0.0)
    assert len(table) == 100
    table.weigh("connect", b"x", A, 1, CONNECTION_IDLE + 61)
    assert len(table) == 1


def test_connection_table_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attempts, "MAX_CONNECTIONS", 50)
    table = ConnectionTable()
    for pid in range(500):
        table.weigh("connect", b"%d" % pid, A, 1, pid * 0.001)
        assert len(table) <= 50


# ---- connections that run out of attempts (MaxAuthTries) ----------------------

MAXED = f"error: maximum authentication attempts exceeded for root from {A} port 4000 ssh2 [preauth]"
DISCONNECTED = (
    f"Disconnecting authenticating user root {A} port 4000: Too many authentication failures [preauth]"
)


def test_a_connection_that_ran_out_on_refused_keys_alone_stands_for_half_its_tries() -> None:
    # Refused keys of an existing user count nothing by themselves; running out of tries
    # does, but a user whose agent offers too many keys does this too: one such connection
    # stays below the brute-force threshold (5), a second one reaches it.
    events = sshd([
        f"100]: Failed publickey for root from {A} port 4000 ssh2: RSA SHA256:Zm9v",
        f"100]: {MAXED}",
        f"100]: {DISCONNECTED}",
    ])
    assert events == [(A, "max_attempts", attempts.DEFAULT_MAX_AUTH_TRIES // 2)]
    assert attempts.DEFAULT_MAX_AUTH_TRIES // 2 < 5 <= 2 * (attempts.DEFAULT_MAX_AUTH_TRIES // 2)


def test_an_exhausted_connection_of_an_invalid_user_stands_for_all_its_tries() -> None:
    events = sshd([
        f"100]: Invalid user oracle from {A} port 4000",
        f"100]: error: maximum authentication attempts exceeded for invalid user oracle from {A} "
        "port 4000 ssh2 [preauth]",
    ])
    assert sum(w for _, _, w in events) == attempts.DEFAULT_MAX_AUTH_TRIES


def test_attempts_already_counted_for_the_connection_are_not_counted_twice() -> None:
    events = sshd([
        f"100]: Failed password for root from {A} port 4000 ssh2",
        "100]: message repeated 3 times: [ Failed password for root from "
        f"{A} port 4000 ssh2]",
        f"100]: {MAXED}",
        f"100]: {DISCONNECTED}",
        "100]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
        f"rhost={A}  user=root",
    ])
    assert sum(w for _, _, w in events) == 6
    assert events[-1] == (A, "max_attempts", 2)


def test_all_attempts_logged_leaves_nothing_for_the_exhausted_line() -> None:
    events = sshd([f"100]: Failed password for root from {A} port 4000 ssh2"] * 6 + [f"100]: {MAXED}"])
    assert [w for _, _, w in events] == [1] * 6


def test_several_exhausted_connections_each_count() -> None:
    events = sshd([f"{100 + i}]: {MAXED.replace('4000', str(4000 + i))}" for i in range(3)])
    assert [w for _, _, w in events] == [3, 3, 3]


def test_max_auth_tries_is_configurable_per_stream() -> None:
    stream = EventStream(load_pack("sshd"), year=2024, max_auth_tries=10)
    events = stream.feed(f"Dec 10 06:55:00 h sshd[100]: {MAXED}\n".encode())
    assert [e.weight for e in events] == [5]


def test_an_address_free_exhaustion_counts_only_for_a_known_connection() -> None:
    table = ConnectionTable(max_tries=4)
    assert table.weigh("exhausted", b"9", None, 1, 0.0) == (None, 0)
    assert table.weigh("connect", b"9", B, 1, 0.0) == (None, 0)
    assert table.weigh("exhausted", b"9", None, 1, 1.0) == (B, 2)
    assert table.weigh("exhausted", b"9", None, 1, 1.0) == (B, 0)
    assert table.weigh("exhausted", None, A, 1, 1.0) == (A, 2)


def test_rfc5424_procid_is_the_connection_id() -> None:
    stream = EventStream(load_pack("sshd"), year=2024)
    head = "<38>1 2024-07-02T10:11:1{s}Z host sshd 4711 - - "
    data = "".join(head.format(s=i) + line + "\n" for i, line in enumerate([
        f"pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={A}",
        f"Failed password for root from {A} port 4000 ssh2",
        "Disconnecting: Too many authentication failures for root [preauth]",
    ]))
    assert [(e.key, e.weight) for e in stream.feed(data.encode())] == [(A, 1), (A, 5)]
