"""Journal notes on PostgreSQL: records that are no policy input do not count as a change.

A replica that does not lead journals each drill stage report at once; counted as a
change, every one would make the leader's writer rebuild its policy from the ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.storage import JournalEntry
from tests.integration.hub_harness import init_hub
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


@pytest.fixture
def config(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub", "--database", cluster.new_database())


async def test_a_journal_note_is_stored_in_order_but_is_no_change_elsewhere(
        config: HubConfig) -> None:
    leader, follower = PostgresLedger(config.database), PostgresLedger(config.database)
    await leader.open()
    await follower.open()
    try:
        assert not await leader.changed_elsewhere()  # the baseline
        ids = await follower.journal_note([JournalEntry("drill.stage", "drill-00aa11bb", 1.0, b"1"),
                                           JournalEntry("drill.stage", "drill-00aa11bb", 2.0, b"2")])
        assert ids == sorted(ids) and len(ids) == 2
        assert [e.body for e in await leader.journal("drill.stage")] == [b"1", b"2"]
        assert not await leader.changed_elsewhere()
        await follower.journal_append([JournalEntry("council", "1", 3.0, b"{}")])
        assert await leader.changed_elsewhere()  # an ordinary record still counts
        assert await follower.journal_note([]) == []
    finally:
        await leader.close()
        await follower.close()
