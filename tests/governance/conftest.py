"""A small alliance for governance tests: real Ed25519 keys, real signatures, no mocks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pytest

from shieldwall.governance.acts import CharterChange, Effect
from shieldwall.governance.amend import councillor_card, found, parse_card
from shieldwall.governance.charter import (
    ActKind,
    Charter,
    Councillor,
    HubKey,
    Rotation,
    SignedCharter,
    Thresholds,
    charter_digest,
)
from shieldwall.governance.proposals import Proposal, open_proposal, publish, sign, with_signatures
from shieldwall.governance.record import ActRecord
from shieldwall.governance.signatures import Signature, sign_digest
from shieldwall.governance.state import CouncilState
from shieldwall.signals.keys import new_seed, public_key_of

ALLIANCE = "north-sea"
START = 1_767_225_600  # 2026-01-01 00:00 UTC
DAY = 86400
POLICY = hashlib.sha256(b"policy v1").hexdigest()
NEVER_BLOCK = hashlib.sha256(b"never-block v1").hexdigest()


class Keys:
    """Seeds by councillor name, created on first use."""

    def __init__(self) -> None:
        self.seeds: dict[str, bytes] = {}

    def seed(self, name: str) -> bytes:
        if name not in self.seeds:
            self.seeds[name] = new_seed()
        return self.seeds[name]

    def card(self, name: str, alliance: str = ALLIANCE) -> Councillor:
        return parse_card(councillor_card(self.seed(name), alliance, name))

    def sign(self, message: bytes, names: Sequence[str]) -> tuple[Signature, ...]:
        return tuple(sign_digest(self.seed(n), message) for n in names)

    def sign_charter(self, charter: Charter, names: Sequence[str]) -> SignedCharter:
        return SignedCharter(charter, self.sign(charter_digest(charter), names))


def hub_key() -> HubKey:
    return HubKey(name="hub", public_key=public_key_of(b"\x01" * 32).hex())


def founding(keys: Keys, names: Sequence[str] = ("alice", "bob", "carol"), ordinary: int = 2,
             grave: int = 2, term_days: int = 30, delegated: Sequence[ActKind] = ()) -> Charter:
    rotation = Rotation(order=tuple(names), start=START, term="days", days=term_days)
    return found(ALLIANCE, [keys.card(n) for n in names], Thresholds(ordinary, grave), rotation,
                 [hub_key()], POLICY, NEVER_BLOCK, issued=START - DAY,
                 delegated=delegated)


@pytest.fixture
def keys() -> Keys:
    return Keys()


def founded(keys: Keys, names: Sequence[str] = ("alice", "bob", "carol"), **options: Any) -> Council:
    """A council founded through the real proposal path (charter v1 is record 1)."""
    council = Council(keys)
    charter = founding(keys, names, **options)
    proposal = open_proposal(council.state, CharterChange(charter), keys.seed(names[0]), START - DAY)
    grave = charter.thresholds.grave
    proposal = with_signatures(proposal, keys.sign(charter_digest(charter), names[1:grave]))
    council.publish(proposal, START - DAY)
    return council


class Council:
    """The act log and state of one council, driven through the pure API."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.state = CouncilState()
        self.records: list[ActRecord] = []

    def publish(self, proposal: Proposal, now: int) -> ActRecord:
        record, self.state = publish(self.state, proposal, now)
        self.records.append(record)
        return record

    def propose(self, effect: Effect, by: str, now: int, note: str = "") -> Proposal:
        return open_proposal(self.state, effect, self.keys.seed(by), now, note)

    def sign(self, proposal: Proposal, names: Sequence[str]) -> Proposal:
        signatures = [sign(self.state, proposal, self.keys.seed(n)) for n in names]
        return with_signatures(proposal, signatures)
