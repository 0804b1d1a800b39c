"""Creating a hub and inviting: the library that `hub init`, `up` and the lab share."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from shieldwall.errors import HubError
from shieldwall.hub.create import default_policy_text, init_hub, invite, public_address_for
from shieldwall.hub.members import decode_token


def test_a_new_hub_has_its_config_policy_identity_and_ledger(tmp_path: Path) -> None:
    created = init_hub(tmp_path / "hub", listen="127.0.0.1:9443")
    hub = tmp_path / "hub"
    for name in ("hub.toml", "policy.toml", "ledger.db"):
        assert (hub / name).exists(), name
    assert created.config.public_address == "127.0.0.1:9443"
    assert len(created.fingerprint) == 64
    assert created.config.policy().allow_reserved is False


def test_a_folder_holding_a_hub_is_never_overwritten(tmp_path: Path) -> None:
    init_hub(tmp_path, listen="127.0.0.1:9443")
    before = (tmp_path / "hub.toml").read_bytes()
    with pytest.raises(HubError, match="already holds a hub"):
        init_hub(tmp_path, listen="127.0.0.1:9999")
    assert (tmp_path / "hub.toml").read_bytes() == before


def test_allow_reserved_switches_the_shipped_policy_on_and_nothing_else(tmp_path: Path) -> None:
    created = init_hub(tmp_path, listen="127.0.0.1:9443", allow_reserved=True)
    assert created.config.policy().allow_reserved is True
    plain, switched = default_policy_text(), default_policy_text(allow_reserved=True)
    differing = [(a, b) for a, b in zip(plain.splitlines(), switched.splitlines(), strict=True) if a != b]
    assert len(differing) == 1 and "allow_reserved" in differing[0][1]


def test_members_are_sent_to_loopback_when_the_hub_listens_on_all_addresses() -> None:
    assert public_address_for("0.0.0.0:8443", None) == "127.0.0.1:8443"
    assert public_address_for("192.0.2.1:8443", None) == "192.0.2.1:8443"
    assert public_address_for("0.0.0.0:8443", "hub.example.org:443") == "hub.example.org:443"


def test_an_invite_names_this_hub_and_its_certificate(tmp_path: Path) -> None:
    created = init_hub(tmp_path, listen="127.0.0.1:9443")
    token = decode_token(asyncio.run(invite(created.config, "web1", 600, time.time())))
    assert token.hub == "127.0.0.1:9443"
    assert token.fingerprint == created.fingerprint
    assert token.name == "web1"
