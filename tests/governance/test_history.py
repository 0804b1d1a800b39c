"""History: every act with its signers and effect, handovers in between, nothing unverified."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import AppointChair, CharterChange, PolicyChange
from shieldwall.governance.amend import amend
from shieldwall.governance.history import history
from tests.governance.conftest import DAY, START, Council, Keys, founded, founding


def test_history_lists_acts_with_signers_and_handovers_by_term_and_appointment(keys: Keys) -> None:
    council = founded(keys, term_days=30)
    council.publish(council.sign(council.propose(PolicyChange(hashlib.sha256(b"2").hexdigest()), "alice",
                                                 START + DAY), ["carol"]), START + DAY)
    appoint = council.sign(council.propose(AppointChair("carol"), "bob", START + 40 * DAY), ["carol"])
    council.publish(appoint, START + 41 * DAY)
    entries = history(council.records, START + 62 * DAY)
    lines = [(e.event, e.summary.split(" ", 1)[-1] if e.event == "act" else e.summary) for e in entries]
    assert lines == [
        ("act", "charter: charter v1"),
        ("handover", "chair - -> alice (term)"),
        ("act", f"policy: policy_sha256={hashlib.sha256(b'2').hexdigest()}"),
        ("handover", "chair alice -> bob (term)"),
        ("act", "appoint-chair: chair=carol"),
        ("handover", "chair bob -> carol (appointment)"),
        ("handover", "chair carol -> alice (term)"),
    ]
    assert entries[2].signers == ("alice", "carol") and entries[0].signers == ("alice", "bob")


def test_a_charter_change_lists_signers_of_both_councils(keys: Keys) -> None:
    council = founded(keys)
    assert council.state.trusted is not None
    v2 = amend(council.state.trusted.charter, START, remove=["carol"], add=[keys.card("dave")])
    council.publish(council.sign(council.propose(CharterChange(v2), "alice", START), ["bob", "dave"]), START)
    acts = [e for e in history(council.records, START) if e.event == "act"]
    assert acts[-1].summary.endswith("charter: charter v2") and acts[-1].signers == ("alice", "bob", "dave")


def test_history_refuses_a_log_that_does_not_verify(keys: Keys) -> None:
    council = founded(keys)
    council.publish(council.sign(council.propose(PolicyChange("a" * 64), "alice", START + DAY), ["bob"]),
                    START + DAY)
    tampered = msgspec.structs.replace(council.records[1], signatures=council.records[1].signatures[:1])
    with pytest.raises(GovernanceError):
        history([council.records[0], tampered], START + 2 * DAY)


def test_a_charter_that_changes_the_rotation_shows_the_handover_it_causes(keys: Keys) -> None:
    council = founded(keys, term_days=30)
    assert council.state.trusted is not None
    v1 = council.state.trusted.charter
    order = ("carol", "alice", "bob")
    v2 = amend(v1, START + DAY, rotation=msgspec.structs.replace(v1.rotation, order=order))
    change = council.sign(council.propose(CharterChange(v2), "alice", START + DAY), ["bob"])
    council.publish(change, START + DAY)
    moves = [e.summary for e in history(council.records, START + 2 * DAY) if e.event == "handover"]
    assert moves == ["chair - -> alice (term)", "chair alice -> carol (charter)"]


def test_a_council_founded_mid_term_shows_its_first_chair_taking_office(keys: Keys) -> None:
    council = Council(keys)
    charter = founding(keys, term_days=30)
    proposal = council.propose(CharterChange(charter), "alice", START + 40 * DAY)
    council.publish(council.sign(proposal, ["bob"]), START + 40 * DAY)
    moves = [e.summary for e in history(council.records, START + 61 * DAY) if e.event == "handover"]
    assert moves == ["chair - -> bob (founding)", "chair bob -> carol (term)"]
