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
