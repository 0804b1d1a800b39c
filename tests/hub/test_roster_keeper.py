"""The roster's driver on a real ledger (SQLite, and a database of the run's private
PostgreSQL cluster): a scripted outage, replayed to the second."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from shieldwall.hub.config import HubConfig
from shieldwall.hub.roster import JOURNAL_KIND, Transition
from shieldwall.hub.roster_keeper import RosterKeeper
from shieldwall.readiness.heartbeat import CheckReport, Heartbeat
from shieldwall.readiness.verdict import State
from tests.integration.hub_harness import backend_hub, ledger_of, new_member, running_hub
from tests.integration.pg_cluster import pg_cluster_fixture

T0 = 1_800_000_000.0
cluster = pg_cluster_fixture()


def beat(at: float, state: State) -> Heartbeat:
    return Heartbeat(member="alpha", at=at, interval=10.0,
                     checks=(CheckReport("R3", "enforcer verified", state, state),))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    return backend_hub(request, tmp_path / "hub")


async def test_a_scripted_outage_is_journaled_to_the_second_and_reloads(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    config = hub_config
    async with running_hub(config):
        await new_member(config, tmp_path / "a", "alpha")
    now = [T0]
    async with ledger_of(config) as ledger:
        keeper = RosterKeeper(ledger, lambda: now[0], grace=60.0)
        await keeper.load()
        script: list[tuple[float, State | None]] = [
            (0, "ok"), (10, "ok"), (20, "failing"), (30, "failing"), (40, "ok"),
            (50, None), (60, None), (70, None), (80, None), (90, "ok")]
        for offset, state in script:  # None: the member is silent; the sweep runs anyway
            now[0] = T0 + offset
            if state is not None:
                await keeper.heard(beat(now[0], state))
            await keeper.sweep_once()
            if offset == 30:
                assert keeper.discounted == frozenset()  # failing for 10 s < grace
        stored = await ledger.journal(JOURNAL_KIND, key="alpha")
        moves = [msgspec.json.decode(s.body, type=Transition) for s in stored]
        assert [(t.at - T0, t.before, t.after) for t in moves] == [
            (0, "unknown", "ok"), (20, "ok", "failing"), (40, "failing", "ok"),
            (80, "ok", "failing"), (90, "failing", "ok")]
        assert "silent" in moves[3].reason
        reloaded = RosterKeeper(ledger, lambda: now[0])
        await reloaded.load()
        assert reloaded.roster["alpha"].state == "ok" and reloaded.roster["alpha"].since == T0 + 90


async def test_a_member_that_left_leaves_the_roster(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "alpha")
    async with ledger_of(hub_config) as ledger:
        keeper = RosterKeeper(ledger, lambda: T0)
        await keeper.heard(beat(T0, "ok"))
        await keeper.prune()
        assert "alpha" in keeper.roster
        await ledger.revoke_member("alpha", "left", T0)
        await keeper.prune()
        assert keeper.roster == {}
