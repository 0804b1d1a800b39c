"""The shared roster on real PostgreSQL: two replicas' keepers, one table, one roster.

Two :class:`RosterKeeper` s on two ledger connections stand for two replicas (the
processes themselves are tests/e2e/test_readiness_replicas.py); only the one leading
journals; an older heartbeat never replaces a newer one; a failed write keeps its rows.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.roster import JOURNAL_KIND, Entry, Transition
from shieldwall.hub.roster_keeper import RosterKeeper
from shieldwall.hub.roster_share import RosterShare
from shieldwall.readiness.heartbeat import CheckReport, Heartbeat
from shieldwall.readiness.verdict import State
from tests.integration.hub_harness import init_hub
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()
T0 = 1_800_000_000.0


def beat(at: float, state: State, member: str = "alpha") -> Heartbeat:
    return Heartbeat(member=member, at=at, interval=10.0,
                     checks=(CheckReport("R3", "enforcer verified", state, state),))


@pytest.fixture
def config(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub", "--database", cluster.new_database())


async def transitions(ledger: PostgresLedger) -> list[tuple[str, str, str]]:
    found = [msgspec.json.decode(e.body, type=Transition) for e in await ledger.journal(JOURNAL_KIND)]
    return [(t.member, t.before, t.after) for t in found]


async def test_a_heartbeat_one_replica_took_reaches_the_others_roster_journaled_once(
        config: HubConfig) -> None:
    now = [T0]
    first, second = PostgresLedger(config.database), PostgresLedger(config.database)
    await first.open()
    await second.open()
    try:
        leads = RosterKeeper(first, lambda: now[0], grace=4.0, leading=lambda: True)
        follows = RosterKeeper(second, lambda: now[0], leading=lambda: False)
        shares = RosterShare(first, leads), RosterShare(second, follows)
        for share in shares:
            await share.start()
        await follows.heard(beat(T0, "failing"))  # taken by the replica that does not lead
        assert await transitions(first) == []
        await shares[1].push()
        assert await shares[0].pull() == 1
        assert leads.roster["alpha"].state == "failing" and leads.roster["alpha"].seen == T0
        assert await transitions(first) == [("alpha", "unknown", "failing")]
        assert await shares[0].pull() == 0  # the same row again: nothing new
        now[0] += 5
        # The leader's quorum hook: failing past its grace on another replica's word.
        assert not leads.counts("alpha")
        await leads.sweep_once()
        assert leads.discounted == {"alpha"}
        await leads.heard(beat(T0 + 5, "ok"))
        assert leads.discounted == frozenset()
        await shares[0].push()
        await shares[1].pull()
        assert follows.roster["alpha"].state == "ok"
        assert follows.last_sent("alpha") == T0 + 5  # a replay to the other replica is refused
        assert await transitions(first) == [("alpha", "unknown", "failing"),
                                            ("alpha", "failing", "ok")]
        # An older heartbeat written late never replaces the newer row.
        stale = Entry(member="alpha", state="failing", since=T0 + 1, seen=T0 + 1, sent=T0 + 1)
        await second.roster_put([("alpha", T0 + 1, msgspec.json.encode(stale))])
        rows = await first.roster_since(0.0)
        assert [(m, s) for m, s, _ in rows] == [("alpha", T0 + 5)]
        # Silent on both: each replica's sweep fails it, the leader alone journals it.
        now[0] += 31
        assert [t.after for t in await follows.sweep_once()] == ["failing"]
        assert [t.after for t in await leads.sweep_once()] == ["failing"]
        assert (await transitions(first))[-1] == ("alpha", "ok", "failing")
        assert len(await transitions(first)) == 3
    finally:
        await first.close()
        await second.close()


async def test_rows_that_could_not_be_written_are_kept_for_the_next_round(config: HubConfig) -> None:
    ledger = PostgresLedger(config.database)
    await ledger.open()
    keeper = RosterKeeper(ledger, lambda: T0, leading=lambda: False)
    share = RosterShare(ledger, keeper)
    await keeper.heard(beat(T0, "ok"))
    await ledger.close()
    with pytest.raises(HubError):
        await share.push()
    assert keeper.outgoing is not None and list(keeper.outgoing) == ["alpha"]
    await ledger.open()
    try:
        await share.push()
        assert [m for m, _, _ in await ledger.roster_since(0.0)] == ["alpha"]
    finally:
        await ledger.close()
