"""Drafting charters: cards prove their key, amendments keep the rotation equal to the council."""

from __future__ import annotations

import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.amend import amend, councillor_card, found, parse_card, parse_hub_key
from shieldwall.governance.charter import Thresholds, charter_digest
from tests.governance.conftest import ALLIANCE, START, Keys, founding


def test_a_card_is_checked_against_its_alliance(keys: Keys) -> None:
    card = councillor_card(keys.seed("dave"), ALLIANCE, "dave")
    assert parse_card(card, ALLIANCE).name == "dave"
    with pytest.raises(GovernanceError) as caught:
        parse_card(card, "elsewhere")
    assert caught.value.reason == "unproven-key"
    with pytest.raises(GovernanceError, match="not a councillor card"):
        parse_card("dave:nothex:x")


def test_amending_chains_the_version_and_keeps_the_rotation_equal_to_the_council(keys: Keys) -> None:
    v1 = founding(keys)
    v2 = amend(v1, START, remove=["alice"], add=[keys.card("dave")])
    assert v2.version == 2 and v2.previous == charter_digest(v1).hex()
    assert v2.rotation.order == ("bob", "carol", "dave")
    with pytest.raises(GovernanceError, match="no councillor named zed"):
        amend(v1, START, remove=["zed"])
    with pytest.raises(GovernanceError, match="majority"):
        amend(v1, START, thresholds=Thresholds(1, 2))


def test_a_hub_key_is_a_name_and_64_hex_digits() -> None:
    assert parse_hub_key("hub:" + "ab" * 32).name == "hub"
    with pytest.raises(GovernanceError):
        parse_hub_key("hub:abc")


def test_a_draft_that_would_not_read_back_is_refused(keys: Keys) -> None:
    v1 = founding(keys)
    with pytest.raises(GovernanceError, match="alliance"):
        found("bad name", v1.council, v1.thresholds, v1.rotation, v1.hub_keys, "a" * 64, "b" * 64, START)
    with pytest.raises(GovernanceError):
        amend(v1, -5)
