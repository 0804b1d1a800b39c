"""Council acts caught by a PostgreSQL leadership change are carried out exactly once.

Real parts: a private PostgreSQL cluster, two ledgers on one database (two replicas), the
real elector's epochs, a council founded and voted through the `shieldwall council` CLI,
the real HubCouncil. The deposed leader is one whose ledger still holds its old epoch and
which still believes it leads (its election task has not noticed yet): exactly the
replica whose late attempt the epoch must refuse. The writer the council drives is a
recorder of what it was told (the acts' ledger effects are what is under test).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shieldwall.decisions.feed import Feed
from shieldwall.errors import HubError
from shieldwall.hub.governance_council import HubCouncil
from shieldwall.hub.ledger.postgres.decision_log import FencedError
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.storage import JournalEntry, MemberChange, MemberRecord
from shieldwall.hub.policy_config import PolicyConfig
from shieldwall.hub.protections import Protections
from shieldwall.signals.admitted import make_member_key
from tests.e2e.test_council import Alliance
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()
NOW = 1_764_380_000.0


class Recorder:
    """The Governed side of a writer: records membership sweeps and policy reloads."""

    def __init__(self) -> None:
        self.governed: HubCouncil | None = None
        self.sweeps = 0

    def replace_policy(self, config: PolicyConfig, base: Protections) -> None:
        pass

    def membership_changed(self) -> None:
        self.sweeps += 1


async def take_over(dsn: str, holder: str, ledger: PostgresLedger) -> Elector:
    """``holder`` wins the election (a new epoch begins) and ``ledger`` appends under it."""
    elector = Elector(dsn, holder)
    await elector.step()
    ledger.on_lease(elector.lease)
    assert ledger.epoch is not None
    return elector


@pytest.fixture
async def ledgers(cluster: PgCluster) -> AsyncIterator[tuple[str, PostgresLedger, PostgresLedger]]:
    dsn = cluster.new_database()
    old, new = PostgresLedger(dsn), PostgresLedger(dsn)
    await old.open(create=True)
    await new.open()
    yield dsn, old, new
    await old.close()
    await new.close()


def entry(seq: int) -> JournalEntry:
    return JournalEntry("council", str(seq), NOW, b"{}")


async def test_a_deposed_leaders_act_is_refused_and_the_new_leader_carries_it_out_once(
        ledgers: tuple[str, PostgresLedger, PostgresLedger]) -> None:
    dsn, old, new = ledgers
    first = await take_over(dsn, "r1", old)
    assert await old.carry_out(entry(1), MemberChange(admit=MemberRecord("b", "k", b"p" * 32, (), 0.0)))
    await first.resign()  # r1 loses the lease; its ledger has not been told (still epoch 1)
    second = await take_over(dsn, "r2", new)
    try:
        expel = MemberChange(revoke="b", why="expelled by the council (act 2)")
        with pytest.raises(FencedError, match="another replica leads now"):
            await old.carry_out(entry(2), expel)
        assert [m.active for m in await new.members()] == [True]  # nothing was written
        assert await new.journal("council", key="2") == []
        assert await new.carry_out(entry(2), expel) is True
        assert await new.carry_out(entry(2), expel) is False  # once: its record is there
        (member,) = await new.members()
        assert not member.active and member.revoked_why.endswith("(act 2)")
        assert len(await new.journal("council", key="2")) == 1
    finally:
        await second.resign()


async def test_a_stale_and_a_current_leader_racing_on_one_act_write_it_once(
        ledgers: tuple[str, PostgresLedger, PostgresLedger]) -> None:
    dsn, old, new = ledgers
    first = await take_over(dsn, "r1", old)
    await first.resign()
    second = await take_over(dsn, "r2", new)
    try:
        change = MemberChange(admit=MemberRecord("c", "kc", b"c" * 32, (), 0.0))
        results = await asyncio.gather(old.carry_out(entry(1), change), new.carry_out(entry(1), change),
                                       return_exceptions=True)
        assert isinstance(results[0], FencedError) and results[1] is True
        assert [m.name for m in await new.members()] == ["c"]
        assert len(await new.journal("council", key="1")) == 1
    finally:
        await second.resign()


async def test_a_refused_change_is_recorded_once_with_why_and_a_follower_carries_out_nothing(
        ledgers: tuple[str, PostgresLedger, PostgresLedger]) -> None:
    dsn, old, new = ledgers
    with pytest.raises(FencedError, match="does not lead"):
        await new.carry_out(entry(1), MemberChange())  # never led: no epoch at all
    elector = await take_over(dsn, "r1", old)
    try:
        with pytest.raises(HubError, match="no member named 'ghost'"):
            await old.carry_out(entry(1), MemberChange(revoke="ghost", why="x"))
        assert await old.journal("council") == []  # the refused change wrote nothing
    finally:
        await elector.resign()


async def test_the_hub_council_of_a_deposed_leader_leaves_the_act_to_the_new_leader(
        cluster: PgCluster, tmp_path: Path) -> None:
    alliance = await asyncio.to_thread(Alliance, tmp_path, "--database", cluster.new_database())
    dsn = alliance.config.database
    assert dsn is not None
    old, new = PostgresLedger(dsn), PostgresLedger(dsn)
    await old.open()
    await new.open()
    first = await take_over(dsn, "r1", old)
    try:
        writers = Recorder(), Recorder()
        # Both believe they lead: the deposed one has not noticed yet.
        councils = [HubCouncil(alliance.config, ledger, Feed(ledger.decisions_after), writer,
                               time.time, lambda: True)
                    for ledger, writer in zip((old, new), writers, strict=True)]
        public = make_member_key(tmp_path / "b.key")
        alliance.run("propose", "admit", str(alliance.folder), "--key", alliance.key("alice"),
                     "--member", "b", "--public-key", public)
        alliance.vote(["carol"])  # act 2
        await councils[0].refresh(force=True)  # r1 leads: it registers b
        assert [m.name for m in await old.members()] == ["b"] and writers[0].sweeps == 1
        await first.resign()
        second = await take_over(dsn, "r2", new)
        alliance.run("propose", "expel", str(alliance.folder), "--key", alliance.key("alice"),
                     "--member", "b")
        alliance.vote(["carol"])  # act 3, published while r1 is being deposed
        alliance.run("propose", "wide-range", str(alliance.folder), "--key", alliance.key("alice"),
                     "--range", "198.51.100.0/22")
        alliance.vote(["carol"])  # act 4: a decision and its record
        try:
            await councils[0].refresh(force=True)  # the late attempt: refused, nothing written
            (member,) = await new.members()
            assert member.active and await new.journal("council", key="3") == []
            assert await new.head() == 0 and writers[0].sweeps == 1
            for _ in range(2):  # the new leader, even asked twice, carries each act out once
                await councils[1].refresh(force=True)
                await councils[0].refresh(force=True)
            (member,) = await new.members()
            assert not member.active and "(act 3)" in member.revoked_why
            for seq in ("2", "3", "4"):
                assert len(await new.journal("council", key=seq)) == 1
            blocks = await new.decisions_after(0, 10)
            assert [d.target for d in blocks] == ["198.51.100.0/22"]
            assert writers[1].sweeps == 1  # the expulsion's sweep, by the new leader alone
        finally:
            await second.resign()
    finally:
        await old.close()
        await new.close()
