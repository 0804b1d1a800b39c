"""Signed requests: a member's GETs are bound to method, path, time and body."""

from __future__ import annotations

import pytest

from shieldwall.errors import SignalError
from shieldwall.signals.keys import MemberKey, key_id_of, new_seed, public_key_of
from shieldwall.signals.request_signature import sign_request, verify_request

NOW = 1_764_380_000.0
SEED = new_seed()
KEY = MemberKey("alice", key_id_of(public_key_of(SEED)), public_key_of(SEED))


def lookup(key_id: str) -> MemberKey | None:
    return KEY if key_id == KEY.key_id else None


def reason(headers: dict[str, str], target: str = "/v1/decisions?after=0", now: float = NOW,
           keys=lookup, method: str = "GET", body: bytes = b"") -> str:
    with pytest.raises(SignalError) as caught:
        verify_request(headers, method, target, body, keys, now)
    return caught.value.reason


def test_signed_request_identifies_the_member() -> None:
    headers = sign_request(SEED, KEY.key_id, "GET", "/v1/decisions?after=0", NOW)
    assert verify_request(headers, "GET", "/v1/decisions?after=0", b"", lookup, NOW) == KEY


def test_unsigned_request_is_rejected() -> None:
    assert reason({}) == "unsigned"


def test_signature_moved_to_another_path_is_forged() -> None:
    headers = sign_request(SEED, KEY.key_id, "GET", "/v1/decisions?after=0", NOW)
    assert reason(headers, target="/v1/decisions?after=5") == "forged"


def test_signature_with_altered_body_is_forged() -> None:
    headers = sign_request(SEED, KEY.key_id, "POST", "/v1/leave", NOW, b"{}")
    assert reason(headers, target="/v1/leave", method="POST", body=b"{ }") == "forged"


def test_old_request_signature_is_stale() -> None:
    headers = sign_request(SEED, KEY.key_id, "GET", "/x", NOW - 1000)
    assert reason(headers, target="/x") == "stale"


def test_request_dated_ahead_is_future_dated() -> None:
    headers = sign_request(SEED, KEY.key_id, "GET", "/x", NOW + 1000)
    assert reason(headers, target="/x") == "future-dated"


def test_request_from_revoked_member_is_rejected() -> None:
    headers = sign_request(SEED, KEY.key_id, "GET", "/x", NOW)
    revoked = MemberKey("alice", KEY.key_id, KEY.public_key, revoked=True)
    assert reason(headers, target="/x", keys=lambda _k: revoked) == "revoked-key"


def test_request_from_unknown_key_is_rejected() -> None:
    headers = sign_request(SEED, KEY.key_id, "GET", "/x", NOW)
    assert reason(headers, target="/x", keys=lambda _k: None) == "unknown-key"


def test_garbled_signature_header_is_malformed() -> None:
    headers = sign_request(SEED, KEY.key_id, "GET", "/x", NOW)
    headers["x-shieldwall-signature"] = "%%%"
    assert reason(headers, target="/x") == "malformed"


def test_a_request_is_authenticated_from_its_headers_before_the_body_is_read() -> None:
    from shieldwall.signals.request_signature import check_body

    body = b'{"signals": []}'
    headers = sign_request(SEED, KEY.key_id, "POST", "/v1/signals", NOW, body)
    assert verify_request(headers, "POST", "/v1/signals", None, lookup, NOW) == KEY
    check_body(headers, body)
    with pytest.raises(SignalError) as caught:
        check_body(headers, body + b" ")
    assert caught.value.reason == "altered"


def test_a_changed_content_header_breaks_the_signature() -> None:
    headers = sign_request(SEED, KEY.key_id, "POST", "/v1/signals", NOW, b"one body")
    headers["x-shieldwall-content"] = "0" * 64
    assert reason(headers, "/v1/signals", method="POST", body=None) == "forged"  # type: ignore[arg-type]
    headers["x-shieldwall-content"] = "not a digest"
    assert reason(headers, "/v1/signals", method="POST", body=None) == "malformed"  # type: ignore[arg-type]
