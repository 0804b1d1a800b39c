"""PostgreSQL ledger schema: numbered forward-only migrations, and a replica refuses
a schema older or newer than it ships, saying what to run (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres.schema import (
    Migration,
    applied_versions,
    initialise,
    migrate,
    parse_migrations,
    require_current,
    schema_problem,
    shipped_migrations,
)
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()

V1 = Migration(1, "initial", "CREATE TABLE a (x INT)")
V2 = Migration(2, "more", "ALTER TABLE a ADD COLUMN y INT")


def test_migrations_must_be_numbered_without_a_hole() -> None:
    assert [m.version for m in parse_migrations({"0002_b.sql": "", "0001_a.sql": ""})] == [1, 2]
    with pytest.raises(HubError, match=r"expected 0002, found 0003_c\.sql"):
        parse_migrations({"0001_a.sql": "", "0003_c.sql": ""})
    with pytest.raises(HubError, match=r"not named NNNN_name\.sql"):
        parse_migrations({"1_a.sql": ""})
    with pytest.raises(HubError, match="not named"):
        parse_migrations({"0001_../../etc.sql": ""})


def test_the_package_ships_its_migrations_starting_at_one() -> None:
    shipped = shipped_migrations()
    assert shipped[0].version == 1 and shipped[0].name == "initial"
    assert "CREATE TABLE decisions" in shipped[0].sql


def test_schema_problem_says_what_to_run() -> None:
    known = (V1, V2)
    assert schema_problem({1: "initial", 2: "more"}, known) is None
    assert "shieldwall hub init --database" in str(schema_problem({}, known))
    older = str(schema_problem({1: "initial"}, known))
    assert "older" in older and "shieldwall hub init --database" in older
    newer = str(schema_problem({1: "initial", 2: "more", 3: "later"}, known))
    assert "newer" in newer and "upgrade Shieldwall" in newer
    foreign = str(schema_problem({1: "someone_elses", 2: "more"}, known))
    assert "not a ledger this Shieldwall wrote" in foreign


async def test_init_creates_the_schema_once_and_a_replica_accepts_it(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    latest = shipped_migrations()[-1].version
    assert await initialise(dsn) == (0, latest)
    assert await initialise(dsn) == (latest, latest)
    conn = await asyncpg.connect(dsn)
    try:
        assert await require_current(conn) == latest
        assert await conn.fetchval("SELECT epoch FROM leader_epoch") == 0
    finally:
        await conn.close()


async def test_a_replica_refuses_an_older_or_newer_schema(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    conn = await asyncpg.connect(dsn)
    try:
        with pytest.raises(HubError, match="holds no Shieldwall ledger"):
            await require_current(conn, (V1, V2))
        assert await migrate(conn, (V1,)) == (0, 1)
        with pytest.raises(HubError, match=r"version 1, older than this Shieldwall's \(2\)"):
            await require_current(conn, (V1, V2))
        assert await migrate(conn, (V1, V2)) == (1, 2)
        assert await require_current(conn, (V1, V2)) == 2
        # A replica of the previous release meets the migrated database.
        with pytest.raises(HubError, match="newer than this Shieldwall understands"):
            await require_current(conn, (V1,))
        with pytest.raises(HubError, match="newer"):
            await migrate(conn, (V1,))
        assert await applied_versions(conn) == {1: "initial", 2: "more"}
    finally:
        await conn.close()


async def test_a_failing_migration_applies_nothing(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    conn = await asyncpg.connect(dsn)
    try:
        broken = Migration(2, "broken", "ALTER TABLE missing ADD COLUMN z INT")
        with pytest.raises(asyncpg.PostgresError):
            await migrate(conn, (V1, broken))
        assert await applied_versions(conn) == {}
        assert await conn.fetchval("SELECT to_regclass('a')") is None
    finally:
        await conn.close()


async def test_two_replicas_initialising_at_once_apply_each_migration_once(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    results = await asyncio.gather(initialise(dsn), initialise(dsn))
    latest = shipped_migrations()[-1].version
    assert sorted(results) == [(0, latest), (latest, latest)]


async def test_init_refuses_a_url_that_is_not_postgresql() -> None:
    with pytest.raises(HubError, match="postgresql://USER@HOST/DB"):
        await initialise("sqlite:///tmp/x.db")


def test_hub_init_with_a_database_creates_then_migrates_the_schema(
    cluster: PgCluster, tmp_path: Path
) -> None:
    dsn = cluster.new_database()
    latest = shipped_migrations()[-1].version

    def shieldwall(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shieldwall.cli.main", *args],
            capture_output=True, text=True, check=False, timeout=120,
        )

    first = shieldwall("hub", "init", "--data", str(tmp_path / "hub"), "--listen", "127.0.0.1:8443",
                       "--database", dsn)
    assert first.returncode == 0, first.stderr
    assert f"version 0 -> {latest}" in first.stdout and "hub created" in first.stdout
    again = shieldwall("hub", "init", "--data", str(tmp_path / "hub"), "--database", dsn)
    assert again.returncode == 0, again.stderr
    assert f"version {latest} -> {latest}" in again.stdout
    unreachable = shieldwall("hub", "init", "--data", str(tmp_path / "other"),
                             "--database", "postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.returncode != 0
    assert "cannot reach the database at postgresql://nobody@127.0.0.1:1/none" in unreachable.stderr
    assert not (tmp_path / "other" / "hub.toml").exists()
    secret = shieldwall("hub", "init", "--data", str(tmp_path / "other"),
                        "--database", "postgresql://hub:hunter2@127.0.0.1:1/none")
    assert secret.returncode != 0 and "hunter2" not in secret.stderr + secret.stdout


def test_hub_serve_refuses_to_start_on_a_newer_or_older_schema(
    cluster: PgCluster, tmp_path: Path
) -> None:
    dsn = cluster.new_database()
    data = tmp_path / "hub"
    latest = shipped_migrations()[-1]

    def serve() -> subprocess.CompletedProcess[str]:
        # A replica that started would serve until killed; the timeout fails the test.
        return subprocess.run(
            [sys.executable, "-m", "shieldwall.cli.main", "hub", "serve", "--data", str(data)],
            capture_output=True, text=True, check=False, timeout=60,
        )

    async def alter(sql: str, *args: object) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    made = subprocess.run(
        [sys.executable, "-m", "shieldwall.cli.main", "hub", "init", "--data", str(data),
         "--listen", "127.0.0.1:1", "--database", dsn],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert made.returncode == 0, made.stderr
    # A newer Shieldwall migrated the database past what this one ships.
    asyncio.run(alter("INSERT INTO schema_migrations (version, name) VALUES ($1, 'later')",
                      latest.version + 1))
    newer = serve()
    assert newer.returncode != 0
    assert "newer than this Shieldwall understands" in newer.stderr
    assert "Traceback" not in newer.stderr
    # An older database: the last shipped migration is missing.
    asyncio.run(alter("DELETE FROM schema_migrations WHERE version >= $1", latest.version))
    older = serve()
    assert older.returncode != 0
    assert f"older than this Shieldwall's ({latest.version})" in older.stderr
    assert "shieldwall hub init --database" in older.stderr and "Traceback" not in older.stderr
