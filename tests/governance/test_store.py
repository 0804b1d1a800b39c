"""The council folder: what is written is what is read back, and damage is named."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest

from shieldwall.errors import GovernanceError
from shieldwall.governance import store
from shieldwall.governance.acts import PolicyChange
from shieldwall.governance.charter import decode_signed_charter
from shieldwall.governance.proposals import open_proposal, sign
from shieldwall.governance.status import proposal_status
from tests.governance.conftest import DAY, START, Keys, founded

POLICY = PolicyChange(hashlib.sha256(b"v2").hexdigest())


def written_council(keys: Keys, folder: Path) -> None:
    council = founded(keys)
    for record in council.records:
        store.append_record(folder, record)


def test_the_log_and_charters_read_back_to_the_same_state(keys: Keys, tmp_path: Path) -> None:
    council = founded(keys)
    for record in council.records:
        store.append_record(tmp_path, record)
    records, state = store.load_state(tmp_path)
    assert records == council.records and state.head == council.state.head
    exported = decode_signed_charter(store.charter_path(tmp_path, 1).read_bytes())
    assert state.trusted is not None and exported == state.trusted.signed


def test_a_cut_short_log_line_is_refused_with_its_line_number(keys: Keys, tmp_path: Path) -> None:
    written_council(keys, tmp_path)
    with open(tmp_path / store.LOG, "ab") as handle:
        handle.write(b'{"seq": 2')
    with pytest.raises(GovernanceError, match=r"acts.jsonl:2 is cut short"):
        store.load_state(tmp_path)


def test_signatures_made_on_two_copies_merge_by_copying_files(keys: Keys, tmp_path: Path) -> None:
    written_council(keys, tmp_path / "a")
    _, state = store.load_state(tmp_path / "a")
    proposal = open_proposal(state, POLICY, keys.seed("alice"), START + DAY)
    where = store.save_proposal(tmp_path / "a", proposal)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    store.add_signature(where, sign(state, proposal, keys.seed("bob")))
    copy = tmp_path / "b" / "proposals" / proposal.id
    store.add_signature(copy, sign(state, proposal, keys.seed("carol")))
    store.add_signature(copy, sign(state, proposal, keys.seed("carol")))
    for path in copy.glob("*.sig"):
        if not (where / path.name).exists():
            shutil.copy(path, where / path.name)
    merged = store.load_proposal(tmp_path / "a", proposal.id[:6])
    assert len(merged.signatures) == 3
    counted = proposal_status(state, merged, START + DAY).counts[0]
    assert counted.signers == ("alice", "bob", "carol")


def test_an_edited_proposal_no_longer_matches_its_id(keys: Keys, tmp_path: Path) -> None:
    written_council(keys, tmp_path)
    _, state = store.load_state(tmp_path)
    proposal = open_proposal(state, POLICY, keys.seed("alice"), START + DAY)
    where = store.save_proposal(tmp_path, proposal)
    text = (where / "act.json").read_text().replace(POLICY.policy_sha256, "0" * 64)
    (where / "act.json").write_text(text)
    with pytest.raises(GovernanceError, match="does not match its id"):
        store.load_proposal(tmp_path, proposal.id)
    with pytest.raises(GovernanceError) as caught:
        store.load_proposal(tmp_path, "../x")
    assert caught.value.reason == "unknown-proposal"


def test_a_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "alice.key"
    store.save_key(path, b"\x07" * 32)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.load_key(path) == b"\x07" * 32
    with pytest.raises(GovernanceError, match="never overwritten"):
        store.save_key(path, b"\x08" * 32)
    (tmp_path / "short.key").write_bytes(b"x")
    with pytest.raises(GovernanceError, match="not a key file"):
        store.load_key(tmp_path / "short.key")
