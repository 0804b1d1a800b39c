"""Members fetch the arsenal with tuf.ngclient over real HTTP, and refuse every attack class.

Real TUF metadata written by the hub's repository, served by an HTTP server on
127.0.0.1; the hostile hub is played by editing the served files directly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, Targets, Timestamp

from shieldwall.arsenal import active, changes
from shieldwall.arsenal.figures import Figures
from shieldwall.arsenal.regression import Outcome
from shieldwall.arsenal.repository import signer_of
from shieldwall.arsenal.rule import parse_rule
from shieldwall.arsenal.updater import update
from shieldwall.errors import ArsenalError
from shieldwall.signals.keys import new_seed
from tests.arsenal.alliance import NOW, Council, member_source, rule_text, serve

PASSED = [Outcome("crowdsec:x", True, frozenset({"192.0.2.1"}), frozenset({"192.0.2.1"}))]


def _figures(rule: str, detections: int = 9, members: int = 4) -> Figures:
    return Figures(rule=rule, start=0, end=NOW, detections_live=0, detections_shadow=detections,
                   targets=3, members=members, corroborated=3, corroboration=1.0, earliness=None,
                   protected_hits=0, lifted=0, disputes=0, lines=1000, cpu_per_million=1.0)


def _proposed(tmp_path: Path, council: Council) -> tuple[Path, object]:
    folder = tmp_path / "hub"
    repo = council.found(folder)
    draft = changes.propose(repo, parse_rule(rule_text("fast-guess")), PASSED, NOW)
    for seed in council.seeds[:2]:
        draft.sign(signer_of(seed), append=True)
    repo.publish(draft, council.hub, NOW)
    return folder, repo


def test_member_fetches_a_proposed_rule_as_experimental(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    with serve(folder) as url:
        got, changed = update(member_source(tmp_path / "m", url, repo))  # type: ignore[arg-type]
    assert changed
    assert [(a.rule.id, a.status) for a in got.rules] == [("fast-guess@1", "experimental")]
    assert active.load(tmp_path / "m") == got


def test_promotion_signed_by_one_councillor_too_few_is_refused_by_hub_and_member(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    member = tmp_path / "m"
    with serve(folder) as url:
        source = member_source(member, url, repo)  # type: ignore[arg-type]
        update(source)
        draft = changes.change_status(repo, "fast-guess@1", "test", _figures("fast-guess@1"), NOW)  # type: ignore[arg-type]
        draft.sign(signer_of(council.seeds[0]), append=True)  # k-1 = 1 of 2
        with pytest.raises(ArsenalError, match="signed by 1/2") as hub_refusal:
            repo.publish(draft, council.hub, NOW)  # type: ignore[attr-defined]
        assert hub_refusal.value.reason == "under-signed"
        # A hostile hub publishes it anyway: every member refuses it, the old set stays.
        _force_publish(folder, draft, council)
        with pytest.raises(ArsenalError, match="signed by 1/2"):
            update(source)
        assert active.load(member).status_of("fast-guess@1") == "experimental"
        # With the second signature it goes through.
        draft.sign(signer_of(council.seeds[1]), append=True)
        _force_publish(folder, draft, council)
        got, _ = update(source)
    assert got.status_of("fast-guess@1") == "test"


def test_forged_targets_signed_by_outsiders_are_refused(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    with serve(folder) as url:
        source = member_source(tmp_path / "m", url, repo)  # type: ignore[arg-type]
        update(source)
        draft = changes.change_status(repo, "fast-guess@1", "deprecated", None, NOW)  # type: ignore[attr-defined]
        for _ in range(2):
            draft.sign(signer_of(new_seed()), append=True)
        _force_publish(folder, draft, council)
        with pytest.raises(ArsenalError, match="signed by 0/2") as refusal:
            update(source)
    assert refusal.value.reason == "tuf-UnsignedMetadataError"
    assert active.load(tmp_path / "m").status_of("fast-guess@1") == "experimental"


def test_rolled_back_timestamp_is_refused(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    old = (folder / "metadata" / "timestamp.json").read_bytes()
    repo.refresh_timestamp(council.hub, NOW)  # type: ignore[attr-defined]
    with serve(folder) as url:
        source = member_source(tmp_path / "m", url, repo)  # type: ignore[arg-type]
        update(source)
        (folder / "metadata" / "timestamp.json").write_bytes(old)
        with pytest.raises(ArsenalError, match="must be >=") as refusal:
            update(source)
    assert refusal.value.reason == "tuf-BadVersionNumberError"


def test_frozen_metadata_past_its_expiry_is_refused(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    # A hub that stopped re-signing: the last timestamp it served ran out long ago.
    repo.refresh_timestamp(council.hub, NOW - 30 * 86400)  # type: ignore[attr-defined]
    with serve(folder) as url, pytest.raises(ArsenalError, match="expired") as refusal:
        update(member_source(tmp_path / "m", url, repo))  # type: ignore[arg-type]
    assert refusal.value.reason == "tuf-ExpiredMetadataError"
    assert active.load(tmp_path / "m").version == 0


def test_tampered_rule_bytes_are_refused_and_the_last_good_set_stays(tmp_path: Path) -> None:
    council = Council.new()
    folder = tmp_path / "hub"
    repo = council.found(folder)
    with serve(folder) as url:
        source = member_source(tmp_path / "m", url, repo)
        update(source)
        draft = changes.propose(repo, parse_rule(rule_text("fast-guess")), PASSED, NOW)
        for seed in council.seeds[:2]:
            draft.sign(signer_of(seed), append=True)
        repo.publish(draft, council.hub, NOW)
        stored = next((folder / "targets" / "rules").iterdir())
        data = stored.read_bytes()
        stored.write_bytes(data.replace(b"threshold = 3", b"threshold = 1"))  # same length
        with pytest.raises(ArsenalError) as refusal:
            update(source)
    assert refusal.value.reason == "tuf-LengthOrHashMismatchError"
    assert active.load(tmp_path / "m").rules == ()


def test_a_signed_rule_that_does_not_load_is_refused_with_its_reason(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    with serve(folder) as url:
        source = member_source(tmp_path / "m", url, repo)  # type: ignore[arg-type]
        update(source)
        broken = rule_text("fast-guess", 2).replace(b'kinds = ["auth_failure"]', b"kinds = []")
        draft = repo.draft({"rules/fast-guess@2.toml": broken},  # type: ignore[attr-defined]
                           {"rules/fast-guess@2.toml": {"status": "experimental"}}, NOW,
                           remove=["rules/fast-guess@1.toml"])
        for seed in council.seeds[:2]:
            draft.sign(signer_of(seed), append=True)
        repo.publish(draft, council.hub, NOW)  # type: ignore[attr-defined]
        with pytest.raises(ArsenalError, match="kinds") as refusal:
            update(source)
    assert refusal.value.reason == "invalid"
    assert [a.rule.id for a in active.load(tmp_path / "m").rules] == ["fast-guess@1"]


def test_an_enforcing_status_whose_report_does_not_match_its_signed_hash_is_refused(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    with serve(folder) as url:
        source = member_source(tmp_path / "m", url, repo)  # type: ignore[arg-type]
        update(source)
        draft = changes.change_status(repo, "fast-guess@1", "test", _figures("fast-guess@1"), NOW)  # type: ignore[arg-type]
        info = draft.signed.targets["rules/fast-guess@1.toml"]
        info.unrecognized_fields["custom"]["report_sha256"] = "0" * 64
        for seed in council.seeds[:2]:
            draft.sign(signer_of(seed), append=True)
        repo.publish(draft, council.hub, NOW)  # type: ignore[attr-defined]
        with pytest.raises(ArsenalError) as refusal:
            update(source)
    assert refusal.value.reason == "report-mismatch"


def test_hub_refuses_to_draft_a_promotion_whose_figures_miss_the_gates(tmp_path: Path) -> None:
    council = Council.new()
    _folder, repo = _proposed(tmp_path, council)
    with pytest.raises(ArsenalError, match="members 2 < 3"):
        changes.change_status(repo, "fast-guess@1", "test", _figures("fast-guess@1", members=2), NOW)  # type: ignore[arg-type]


def _force_publish(folder: Path, draft: Metadata[Targets], council: Council) -> None:
    """What a hostile hub can do: serve any targets with fresh snapshot/timestamp."""
    meta = folder / "metadata"
    version = draft.signed.version
    (meta / f"{version}.targets.json").write_bytes(draft.to_bytes())
    snapshot = json.loads((meta / "snapshot.json").read_bytes())
    snapshot_md = Metadata.from_bytes(json.dumps(snapshot).encode())
    snapshot_md.signed.version += 1
    snapshot_md.signed.meta["targets.json"].version = version
    snapshot_md.sign(signer_of(council.hub))
    (meta / f"{snapshot_md.signed.version}.snapshot.json").write_bytes(snapshot_md.to_bytes())
    timestamp: Metadata[Timestamp] = Metadata.from_bytes((meta / "timestamp.json").read_bytes())
    timestamp.signed.version += 1
    timestamp.signed.snapshot_meta.version = snapshot_md.signed.version
    timestamp.sign(signer_of(council.hub))
    (meta / "timestamp.json").write_bytes(timestamp.to_bytes())


def test_a_demotion_signed_by_another_key_than_the_hubs_is_refused(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    with serve(folder) as url:
        source = member_source(tmp_path / "m", url, repo)  # type: ignore[arg-type]
        update(source)
        repo._sign_demotions(["fast-guess@1"], new_seed(), NOW)  # type: ignore[attr-defined]
        repo._snapshot(council.hub, NOW)  # type: ignore[attr-defined]
        with pytest.raises(ArsenalError, match="demotions was signed by 0/1") as refusal:
            update(source)
        assert refusal.value.reason == "tuf-UnsignedMetadataError"
        repo.demote(["fast-guess@1"], council.hub, NOW)  # type: ignore[attr-defined]
        got, changed = update(source)
    assert changed and [(a.status, a.effective) for a in got.rules] == [("experimental", "experimental")]
    assert got.rules[0].demoted


def test_a_new_version_runs_in_shadow_beside_the_enforcing_one_and_replaces_it_when_promoted(
    tmp_path: Path,
) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)

    def publish(draft: Metadata[Targets]) -> None:
        for seed in council.seeds[:2]:
            draft.sign(signer_of(seed), append=True)
        repo.publish(draft, council.hub, NOW)  # type: ignore[attr-defined]

    publish(changes.change_status(repo, "fast-guess@1", "test", _figures("fast-guess@1"), NOW))  # type: ignore[arg-type]
    publish(changes.propose(repo, parse_rule(rule_text("fast-guess", 2, threshold=4)), PASSED, NOW))  # type: ignore[arg-type]
    with serve(folder) as url:
        source = member_source(tmp_path / "m", url, repo)  # type: ignore[arg-type]
        both, _ = update(source)
        assert sorted((a.rule.id, a.status) for a in both.rules) == [
            ("fast-guess@1", "test"), ("fast-guess@2", "experimental")]
        publish(changes.change_status(repo, "fast-guess@2", "test", _figures("fast-guess@2"), NOW))  # type: ignore[arg-type]
        replaced, _ = update(source)
    assert sorted((a.rule.id, a.status) for a in replaced.rules) == [
        ("fast-guess@1", "deprecated"), ("fast-guess@2", "test")]


def test_mixed_metadata_an_older_targets_under_a_newer_snapshot_is_refused(tmp_path: Path) -> None:
    council = Council.new()
    folder, repo = _proposed(tmp_path, council)
    draft = changes.change_status(repo, "fast-guess@1", "deprecated", None, NOW)  # type: ignore[attr-defined]
    for seed in council.seeds[:2]:
        draft.sign(signer_of(seed), append=True)
    repo.publish(draft, council.hub, NOW)  # type: ignore[attr-defined]
    meta = folder / "metadata"
    # Mix and match: the snapshot names targets v3; a hostile hub serves v2's (validly signed) bytes.
    (meta / "3.targets.json").write_bytes((meta / "2.targets.json").read_bytes())
    with serve(folder) as url, pytest.raises(ArsenalError, match="Expected targets v3, got v2") as refusal:
        update(member_source(tmp_path / "m", url, repo))  # type: ignore[arg-type]
    assert refusal.value.reason == "tuf-BadVersionNumberError"
