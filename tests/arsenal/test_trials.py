"""Chair-alone trials: the chair of the moment, under a charter that delegates trials, only in shadow.

A real council (governance's own proposal path, real Ed25519 keys), a real TUF repository
served over HTTP on loopback and fetched with tuf.ngclient. The hostile hub is played by
writing the role's files past the hub's checks (:func:`_force`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, Targets

from shieldwall.arsenal import active, changes
from shieldwall.arsenal.engine import Engine, detections_of
from shieldwall.arsenal.figures import Figures
from shieldwall.arsenal.regression import Outcome
from shieldwall.arsenal.repository import Repository, _serializer, signer_of
from shieldwall.arsenal.rule import parse_rule
from shieldwall.arsenal.trials import ROLE as TRIALS
from shieldwall.arsenal.trials import SKEW, trial_path
from shieldwall.arsenal.updater import Source, update
from shieldwall.errors import ArsenalError
from shieldwall.governance.acts import AppointChair, CharterChange
from shieldwall.governance.amend import found
from shieldwall.governance.charter import ActKind, Rotation, Thresholds, charter_digest
from shieldwall.governance.proposals import open_proposal, with_signatures
from shieldwall.governance.state import CouncilState
from tests.arsenal.alliance import NOW, Council, rule_text, serve
from tests.governance.conftest import ALLIANCE, NEVER_BLOCK, POLICY, Keys, hub_key
from tests.governance.conftest import Council as ActLog

DAY = 86400
NAMES = ("alice", "bob", "carol")
#: Alice chaired the first 30-day term; Bob chairs now (15 days into the second).
START = int(NOW) - 45 * DAY
PASSED = [Outcome("crowdsec:x", True, frozenset({"192.0.2.1"}), frozenset({"192.0.2.1"}))]
LINES = b"".join(
    b"Mar  1 10:00:0%d host sshd[%d]: Failed password for root from 198.51.100.7 port 4%d ssh2\n"
    % (i, 100 + i, i) for i in range(4))


def council_of(keys: Keys, delegated: Sequence[ActKind] = ("trial",)) -> ActLog:
    """The council's act log, founded through the real proposal path."""
    log = ActLog(keys)
    charter = found(ALLIANCE, [keys.card(n) for n in NAMES], Thresholds(2, 2),
                    Rotation(order=NAMES, start=START, term="days", days=30), [hub_key()],
                    POLICY, NEVER_BLOCK, issued=START - DAY, delegated=delegated)
    proposal = open_proposal(log.state, CharterChange(charter), keys.seed("alice"), START - DAY)
    log.publish(with_signatures(proposal, keys.sign(charter_digest(charter), ["bob"])), START - DAY)
    return log


class World:
    """A council, its arsenal on disk, a member's folder."""

    def __init__(self, tmp_path: Path, delegated: Sequence[ActKind] = ("trial",)) -> None:
        self.keys = Keys()
        self.log = council_of(self.keys, delegated)
        self.arsenal = Council([self.keys.seed(n) for n in NAMES], Council.new().hub)
        self.folder = tmp_path / "hub"
        self.repo = self.arsenal.found(self.folder)
        self.member = tmp_path / "m"

    @property
    def state(self) -> CouncilState:
        return self.log.state

    def source(self, url: str) -> Source:
        return Source(folder=self.member, url=url, bootstrap=self.repo.root_bytes(1),
                      council=lambda: self.state)

    def trial(self, name: str, signer: str, at: float = NOW,
              status: str = "experimental") -> Metadata[Targets]:
        draft = changes.propose_trial(self.repo, parse_rule(rule_text(name)), PASSED, at)
        if status != "experimental":
            draft.signed.targets[trial_path(f"{name}@1")].unrecognized_fields["custom"] = {"status": status}
        draft.sign(signer_of(self.keys.seed(signer)))
        return draft


def _force(repo: Repository, md: Metadata[Targets], hub: bytes) -> None:
    """A hostile hub publishes a trials version without the hub's checks."""
    raw = md.to_bytes(_serializer)
    for name in (f"{md.signed.version}.{TRIALS}.json", f"{TRIALS}.json"):
        (repo.metadata / name).write_bytes(raw)
    repo._snapshot(hub, NOW)


def test_a_trial_signed_by_the_chair_alone_is_accepted_and_runs_in_shadow(tmp_path: Path) -> None:
    world = World(tmp_path)
    chair = world.repo.publish_trial(world.trial("fast-guess", "bob"), world.state, world.arsenal.hub, NOW)
    assert chair == "bob"
    assert changes.current_status(world.repo, "fast-guess@1") == "experimental"
    with serve(world.folder) as url:
        got, changed = update(world.source(url))
    assert changed and [(a.rule.id, a.status) for a in got.rules] == [("fast-guess@1", "experimental")]
    engine = Engine(year=2026)
    engine.load(got)
    found_ = engine.feed("fast-guess@1", LINES)
    # It detects and is reported as a trial, and yields nothing to enforce: zero elements anywhere.
    assert [(f.sighting.target, f.sighting.mode) for f in found_] == [("198.51.100.7", "shadow")]
    assert detections_of(found_) == []


def test_the_council_promotes_a_chair_started_trial_with_its_threshold(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.repo.publish_trial(world.trial("fast-guess", "bob"), world.state, world.arsenal.hub, NOW)
    with serve(world.folder) as url:
        update(world.source(url))
        draft = changes.change_status(world.repo, "fast-guess@1", "deprecated", None, NOW)
        for name in ("alice", "carol"):
            draft.sign(signer_of(world.keys.seed(name)), append=True)
        world.repo.publish(draft, world.arsenal.hub, NOW)
        got, _ = update(world.source(url))
    # The council's own entry decides once it has one; the trial beside it is ignored.
    assert [(a.rule.id, a.status) for a in got.rules] == [("fast-guess@1", "deprecated")]


@pytest.mark.parametrize(("signer", "at", "reason"), [
    ("carol", NOW, "not-chair"),                 # another councillor, alone
    ("alice", NOW, "not-chair"),                 # the former chair, after the rotation
    ("alice", START + DAY, "backdated"),         # ... dating it back into her own term
])
def test_a_trial_not_signed_by_the_chair_of_its_time_is_refused_by_hub_and_member(
    tmp_path: Path, signer: str, at: float, reason: str,
) -> None:
    world = World(tmp_path)
    with serve(world.folder) as url:
        source = world.source(url)
        update(source)  # the member has checked the set now
        md = world.trial("fast-guess", signer, at)
        with pytest.raises(ArsenalError) as hub_refusal:
            world.repo.publish_trial(md, world.state, world.arsenal.hub, NOW)
        assert hub_refusal.value.reason == reason
        _force(world.repo, md, world.arsenal.hub)
        with pytest.raises(ArsenalError) as member_refusal:
            update(source)
        # TUF stored the role it verified; asking again is refused all the same.
        with pytest.raises(ArsenalError) as again:
            update(source)
    assert member_refusal.value.reason == again.value.reason == reason
    assert active.load(world.member).rules == ()


def test_a_chair_signed_promotion_is_refused_by_hub_and_member(tmp_path: Path) -> None:
    world = World(tmp_path)
    with serve(world.folder) as url:
        source = world.source(url)
        update(source)
        md = world.trial("fast-guess", "bob", status="test")
        with pytest.raises(ArsenalError, match="only start a rule as experimental") as refusal:
            world.repo.publish_trial(md, world.state, world.arsenal.hub, NOW)
        assert refusal.value.reason == "invalid-status"
        _force(world.repo, md, world.arsenal.hub)
        with pytest.raises(ArsenalError, match="only start a rule as experimental"):
            update(source)
    assert active.load(world.member).rules == ()
    # Through the council's own role the chair alone is one signature short of the threshold.
    other = World(tmp_path / "other")
    other.repo.publish_trial(other.trial("slow-guess", "bob"), other.state, other.arsenal.hub, NOW)
    report = Figures(rule="slow-guess@1", start=0, end=NOW, detections_live=0, detections_shadow=9,
                     targets=3, members=4, corroborated=3, corroboration=1.0, earliness=None,
                     protected_hits=0, lifted=0, disputes=0, lines=1000, cpu_per_million=1.0)
    draft = changes.change_status(other.repo, "slow-guess@1", "test", report, NOW)  # gates met
    draft.sign(signer_of(other.keys.seed("bob")))
    with pytest.raises(ArsenalError, match="signed by 1/2") as under:
        other.repo.publish(draft, other.arsenal.hub, NOW)
    assert under.value.reason == "under-signed"


def test_a_chair_alone_trial_is_refused_when_the_charter_does_not_delegate_it(tmp_path: Path) -> None:
    world = World(tmp_path, delegated=())
    with serve(world.folder) as url:
        source = world.source(url)
        md = world.trial("fast-guess", "bob")
        with pytest.raises(ArsenalError, match="does not delegate trials") as refusal:
            world.repo.publish_trial(md, world.state, world.arsenal.hub, NOW)
        assert refusal.value.reason == "not-delegated"
        _force(world.repo, md, world.arsenal.hub)
        with pytest.raises(ArsenalError, match="does not delegate trials"):
            update(source)
        # A member without a council has no chair at all.
        bare = Source(folder=tmp_path / "bare", url=url, bootstrap=world.repo.root_bytes(1))
        with pytest.raises(ArsenalError) as no_council:
            update(bare)
    assert no_council.value.reason == "not-delegated"


def test_an_appointed_chair_may_start_a_trial_and_the_rotation_s_chair_then_may_not(tmp_path: Path) -> None:
    world = World(tmp_path)
    appointment = world.log.propose(AppointChair("carol"), "carol", int(NOW) - DAY)
    world.log.publish(world.log.sign(appointment, ["alice"]), int(NOW) - DAY)
    with pytest.raises(ArsenalError) as refusal:
        world.repo.publish_trial(world.trial("fast-guess", "bob"), world.state, world.arsenal.hub, NOW)
    assert refusal.value.reason == "not-chair"
    assert world.repo.publish_trial(world.trial("fast-guess", "carol"), world.state, world.arsenal.hub,
                                    NOW) == "carol"
    with serve(world.folder) as url:
        got, _ = update(world.source(url))
    assert got.status_of("fast-guess@1") == "experimental"


def test_a_trial_dated_in_the_future_is_refused_by_hub_and_member(tmp_path: Path) -> None:
    world = World(tmp_path)
    md = world.trial("fast-guess", "bob", NOW + 2 * SKEW)
    with pytest.raises(ArsenalError) as refusal:
        world.repo.publish_trial(md, world.state, world.arsenal.hub, NOW)
    assert refusal.value.reason == "misdated"
    _force(world.repo, md, world.arsenal.hub)
    with serve(world.folder) as url, pytest.raises(ArsenalError) as member_refusal:
        update(world.source(url))
    assert member_refusal.value.reason == "misdated"
