"""The PostgreSQL ledger's pool on a real cluster: a request that finds every connection
held fails with a message (the member retries) instead of hanging."""

from __future__ import annotations

import pytest

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


async def test_a_request_behind_a_held_pool_fails_fast_and_the_pool_recovers(
    cluster: PgCluster,
) -> None:
    ledger = PostgresLedger(cluster.new_database(), pool_size=1, acquire_timeout=0.3)
    await ledger.open(create=True)
    try:
        async with ledger._conn():  # slow work holding the only connection
            with pytest.raises(HubError, match=r"busy: no connection came free within 0\.3 s"):
                await ledger.head()
        assert await ledger.head() == 0
    finally:
        await ledger.close()
