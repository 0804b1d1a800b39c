"""Join tokens: round trip, damage detection, names and durations."""

from __future__ import annotations

import pytest

from shieldwall.durations import parse_duration
from shieldwall.errors import ConfigError, HubError
from shieldwall.hub.members import (
    JoinToken,
    check_member_name,
    decode_token,
    encode_token,
    secret_hash,
)

TOKEN = JoinToken(hub="[2001:db8::1]:8443", fingerprint="ab" * 32, secret="s3cret", expires=1e9,
                  name="web1")


def test_token_round_trips() -> None:
    assert decode_token(encode_token(TOKEN)) == TOKEN


@pytest.mark.parametrize("text", ["", "swj1.", "swj1.!!!!", "xyz.abc", encode_token(TOKEN)[:-8]])
def test_damaged_token_is_refused(text: str) -> None:
    with pytest.raises(HubError):
        decode_token(text)


def test_token_without_a_valid_fingerprint_is_refused() -> None:
    bad = JoinToken(hub="h:1", fingerprint="nope", secret="s", expires=1.0)
    with pytest.raises(HubError, match="fingerprint"):
        decode_token(encode_token(bad))


def test_secret_is_stored_hashed() -> None:
    assert "s3cret" not in secret_hash("s3cret") and len(secret_hash("s3cret")) == 64


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 64, "é"])
def test_bad_member_names_are_refused(name: str) -> None:
    with pytest.raises(HubError):
        check_member_name(name)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30m", 1800), ("24h", 86400),
                                              ("7d", 604800)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_is_refused() -> None:
    with pytest.raises(ConfigError):
        parse_duration("soon")


@pytest.mark.parametrize("name", ["operator", "OPERATOR", "operator.", "hub", "council", "root"])
def test_names_the_hub_uses_for_itself_are_reserved(name: str) -> None:
    with pytest.raises(HubError, match="reserved"):
        check_member_name(name)


def test_names_that_merely_contain_a_reserved_word_are_fine() -> None:
    assert check_member_name("operator-office-gw") == "operator-office-gw"


# -- the hub's address list (replicas) ------------------------------------------------
def raw_token(body: dict[str, object]) -> str:
    import base64
    import json

    text = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return "swj1." + text


OLD = {"hub": "hub.example.org:8443", "fingerprint": "ab" * 32, "secret": "s", "expires": 1e9,
       "name": ""}


def test_a_token_printed_before_replicas_still_decodes() -> None:
    token = decode_token(raw_token(OLD))
    assert token.addresses == ("hub.example.org:8443",) and token.fingerprints == ("ab" * 32,)


def test_a_one_address_token_says_nothing_about_replicas() -> None:
    import base64
    import json

    body = encode_token(TOKEN)[len("swj1."):]
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert "replicas" not in fields and "pins" not in fields


def test_replicas_and_pins_round_trip_in_canonical_form() -> None:
    token = JoinToken(hub="10.0.0.1:8443", fingerprint="ab" * 32, secret="s", expires=1e9,
                      replicas=("[2001:DB8::2]:8443", "10.0.0.1:8443", "Hub.Example.org:443"),
                      pins=("cd" * 32, "ab" * 32))
    decoded = decode_token(encode_token(token))
    assert decoded.addresses == ("10.0.0.1:8443", "[2001:db8::2]:8443", "hub.example.org:443")
    assert decoded.fingerprints == ("ab" * 32, "cd" * 32)


@pytest.mark.parametrize("change", [
    {"replicas": ["10.0.0.2"]},
    {"replicas": ["10.0.0.2:8443/evil"]},
    {"replicas": ["user@10.0.0.2:8443"]},
    {"replicas": [7]},
    {"replicas": "10.0.0.2:8443"},
    {"replicas": [f"10.0.1.{i}:1" for i in range(16)]},
    {"pins": ["AB" * 32]},
    {"pins": ["ab" * 31]},
    {"hub": "hub.example.org"},
    {"hub": "-x-:1"},
    {"mirrors": ["10.0.0.2:8443"]},
])
def test_hostile_address_lists_and_unknown_fields_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(HubError):
        decode_token(raw_token({**OLD, **change}))
