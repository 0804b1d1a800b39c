"""The relay inbox on real PostgreSQL: the leader takes what is unanswered, so a row
whose transaction commits late is taken later, never stepped over."""

from __future__ import annotations

import asyncpg
import pytest

from shieldwall.hub.ledger.postgres import inbox
from shieldwall.hub.ledger.postgres.schema import initialise
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


@pytest.fixture
async def dsn(cluster: PgCluster) -> str:
    url = cluster.new_database()
    await initialise(url)
    return url


async def test_a_row_that_commits_after_a_later_id_is_still_taken(dsn: str) -> None:
    early, late = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        slow = early.transaction()
        await slow.start()
        (first,) = await inbox.put(early, "r1", [("k1", b"one")], 1.0)  # id allocated first...
        (second,) = await inbox.put(late, "r2", [("k2", b"two")], 1.0)  # ...committed first
        assert first < second
        assert [r.id for r in await inbox.unanswered(late, 10)] == [second]
        await inbox.answer(late, [(second, b"a2")], 2.0)
        await slow.commit()
        taken = await inbox.unanswered(late, 10)
        assert [(r.id, r.key_id, r.body) for r in taken] == [(first, "k1", b"one")]
    finally:
        await early.close()
        await late.close()


async def test_answers_are_collected_once_and_uncollected_ones_are_swept(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        ids = await inbox.put(conn, "r1", [("k", b"a"), ("k", b"b"), ("k", b"c")], 1.0)
        assert await inbox.backlog(conn) == 3
        await inbox.answer(conn, [(ids[0], b"x"), (ids[2], b"z")], 100.0)
        await inbox.answer(conn, [(ids[0], b"again")], 101.0)  # a second answer changes nothing
        assert await inbox.collect(conn, ids[:2]) == {ids[0]: b"x"}
        assert await inbox.collect(conn, ids[:2]) == {}
        assert await inbox.unanswered(conn, 10, skip=[ids[1]]) == []
        assert await inbox.sweep(conn, 50.0) == 0
        assert await inbox.sweep(conn, 200.0) == 1  # ids[2]: its replica never came back
        assert await inbox.backlog(conn) == 1
    finally:
        await conn.close()
