"""`shieldwall council` end to end on files: found, propose, sign, publish, hand over, rotate keys."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from shieldwall.cli.main import cli
from shieldwall.errors import EXIT_CHECK_FAILED

START = 1_767_225_600  # 2026-01-01 00:00 UTC
DAY = 86400


class Alliance:
    """Three founders' key files and a council folder, driven through the CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "council"
        self.cards: dict[str, str] = {}
        (root / "policy.toml").write_text("quorum = 2\n")
        (root / "never-block.txt").write_text("192.0.2.0/24\n")
        (root / "hub.key").write_bytes(hashlib.sha256(b"hub").digest())

    def run(self, *argv: str, now: int = START + DAY, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["council", "--now", str(now), *argv])
        assert result.exit_code == code, result.output
        return result

    def key(self, name: str) -> str:
        return str(self.root / f"{name}.key")

    def keygen(self, name: str) -> str:
        made = self.run("keygen", self.key(name), "--name", name, "--alliance", "north-sea")
        self.cards[name] = made.output
        return self.cards[name].strip()

    def only_proposal(self) -> str:
        (found,) = [p.name for p in (self.folder / "proposals").iterdir()]
        return found

    def found(self) -> None:
        cards = [arg for name in ("alice", "bob", "carol") for arg in ("--councillor", self.keygen(name))]
        self.run("init", str(self.folder), "--key", self.key("alice"), "--alliance", "north-sea", *cards,
                 "--ordinary", "2", "--grave", "2", "--term-days", "30", "--start", str(START),
                 "--hub-identity", str(self.root / "hub.key"), "--policy", str(self.root / "policy.toml"),
                 "--never-block", str(self.root / "never-block.txt"), now=START)
        founding = self.only_proposal()
        self.run("sign", str(self.folder), founding, "--key", self.key("bob"), now=START)
        self.run("publish", str(self.folder), founding, now=START)


@pytest.fixture
def alliance(tmp_path: Path) -> Alliance:
    alliance = Alliance(tmp_path)
    alliance.found()
    return alliance


def test_founding_publishes_charter_v1_and_the_status_names_the_chair(alliance: Alliance) -> None:
    assert (alliance.folder / "charters" / "v000001.json").exists()
    status = alliance.run("status", str(alliance.folder)).output
    assert "charter v1 of north-sea" in status and "chair: alice until 2026-01-31" in status


def test_publish_with_k_minus_one_fails_and_with_k_takes_effect(alliance: Alliance) -> None:
    new_policy = alliance.root / "policy-v2.toml"
    new_policy.write_text("quorum = 3\n")
    folder = str(alliance.folder)
    alliance.run("propose", "policy", folder, "--key", alliance.key("alice"), "--file", str(new_policy))
    pid = alliance.only_proposal()
    refused = alliance.run("publish", folder, pid, code=EXIT_CHECK_FAILED)
    assert "signed by 1 of the 2 required (alice)" in refused.output
    assert "ready to publish" in alliance.run("sign", folder, pid, "--key", alliance.key("carol")).output
    alliance.run("publish", folder, pid)
    digest = hashlib.sha256(b"quorum = 3\n").hexdigest()
    assert f"policy {digest[:16]}" in alliance.run("status", folder).output
    assert "policy_sha256=" + digest in alliance.run("history", folder).output


def test_a_key_off_the_council_cannot_sign(alliance: Alliance) -> None:
    folder = str(alliance.folder)
    alliance.run("propose", "expel", folder, "--key", alliance.key("alice"), "--member", "acme")
    alliance.keygen("mallory")
    refused = alliance.run("sign", folder, alliance.only_proposal(), "--key", alliance.key("mallory"),
                           code=EXIT_CHECK_FAILED)
    assert "holds no seat" in refused.output


def test_a_handover_carries_open_proposals_to_the_next_chair(alliance: Alliance) -> None:
    folder = str(alliance.folder)
    alliance.run("propose", "wide-range", folder, "--key", alliance.key("alice"),
                 "--range", "198.51.100.0/22")
    pid = alliance.only_proposal()
    after = START + 31 * DAY
    refused = alliance.run("propose", "policy", folder, "--key", alliance.key("alice"), "--file",
                           str(alliance.root / "policy.toml"), now=after, code=EXIT_CHECK_FAILED)
    assert "only the chair (bob)" in refused.output
    alliance.run("sign", folder, pid, "--key", alliance.key("bob"), now=after)
    alliance.run("publish", folder, pid, now=after)
    history = alliance.run("history", folder, now=after).output
    assert "chair alice -> bob (term)" in history
    assert f"carries over 1 open proposal(s): {pid}" in history


def test_rotating_one_councillors_key_needs_both_councils(alliance: Alliance) -> None:
    folder = str(alliance.folder)
    dave = alliance.keygen("dave")
    alliance.run("propose", "charter", folder, "--key", alliance.key("alice"),
                 "--remove", "carol", "--add", dave)
    pid = alliance.only_proposal()
    alliance.run("sign", folder, pid, "--key", alliance.key("bob"))
    alliance.run("publish", folder, pid)
    assert "charter v2" in alliance.run("status", folder).output
    assert (alliance.folder / "charters" / "v000002.json").exists()


def test_a_card_whose_key_did_not_sign_its_challenge_is_refused(alliance: Alliance) -> None:
    name, key, _ = alliance.keygen("dave").split(":")
    other_proof = alliance.cards["alice"].strip().split(":")[2]
    refused = alliance.run("propose", "charter", str(alliance.folder), "--key", alliance.key("alice"),
                           "--add", f"{name}:{key}:{other_proof}", code=EXIT_CHECK_FAILED)
    assert "not signed by its key" in refused.output


def test_expulsion_by_vote_is_recorded_and_counted(alliance: Alliance) -> None:
    folder = str(alliance.folder)
    alliance.run("propose", "expel", folder, "--key", alliance.key("alice"), "--member", "acme",
                 "--note", "leaked key")
    pid = alliance.only_proposal()
    alliance.run("publish", folder, pid, code=EXIT_CHECK_FAILED)
    alliance.run("sign", folder, pid, "--key", alliance.key("carol"))
    alliance.run("publish", folder, pid)
    assert "expelled: 1" in alliance.run("status", folder).output
    assert "expel: member=acme (leaked key)  [signed: alice, carol]" in alliance.run("history", folder).output


def test_status_warns_when_the_charter_has_expired(alliance: Alliance) -> None:
    status = alliance.run("status", str(alliance.folder), now=START + 400 * DAY).output
    assert "EXPIRED" in status
