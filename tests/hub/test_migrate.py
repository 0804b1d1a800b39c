"""`shieldwall hub migrate --to postgresql://...` on a real SQLite hub and a real PostgreSQL:
everything is copied under its own keys and cursors, verified, and served from there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.hub.create import init_hub
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import (
    BatchRecord,
    DecisionRecord,
    InviteRecord,
    JournalEntry,
    Ledger,
    MemberRecord,
    SignalRecord,
    WriteGroup,
)
from shieldwall.hub.migrate import migrate_to_postgres
from shieldwall.signals.signal import Signal
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()
NOW = 1_764_380_000.0
TARGETS = ["45.13.7.1", "45.13.7.2", "2001:db8::/48"]


@pytest.fixture
def hub(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub", listen="127.0.0.1:8443").config


async def fill(ledger: Ledger) -> None:
    """A small alliance's history: two members, an invite left, three groups, a journal."""
    await ledger.add_invite(InviteRecord("h1", "alice", NOW, NOW + 60))
    await ledger.add_invite(InviteRecord("h2", "", NOW, NOW + 60, owns=("45.13.9.0/24",)))
    await ledger.redeem_invite("h1", MemberRecord("alice", "ka", b"\x00a" * 16, (), 0), NOW)
    await ledger.declare_proxies("alice", ("45.13.9.80", "2001:db8:1::/48"), NOW)
    await ledger.add_invite(InviteRecord("h3", "bob", NOW, NOW + 60))
    await ledger.redeem_invite("h3", MemberRecord("bob", "kb", b"b" * 32, ("45.13.8.0/24",), 0), NOW)
    for seq, target in enumerate(TARGETS, start=1):
        signal = Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6,
                        evidence=("Failed password for root from 'x'; --",))
        await ledger.write(WriteGroup(
            batches=[BatchRecord("alice", seq, f"{seq:064x}", NOW + seq, 1)],
            signals=[SignalRecord("alice", seq, signal, NOW + seq, "decided", "offense 1", 0)],
            decisions=[DecisionRecord("block", target, NOW + 3600, "ssh-bruteforce", "alice",
                                      NOW + seq, "alice", b'[{"member":"alice"}]', policy="p1",
                                      rule="sshd@3")],
            cursors={"bob": (seq, NOW + seq)},
        ))
    await ledger.revoke_member("bob", "left", NOW + 10)
    await ledger.journal_append([JournalEntry("readiness", "alice", NOW, b'{"state":"ready"}')])
    await ledger.mark_head(3)


async def snapshot(ledger: Ledger) -> tuple[object, ...]:
    return (
        await ledger.members(), await ledger.decisions_after(0, 100), await ledger.head(),
        await ledger.decisions_for(TARGETS), await ledger.signals_for(TARGETS, 100),
        await ledger.last_seqs(), await ledger.invite("h2"), await ledger.invite("h1"),
        await ledger.journal("readiness"), await ledger.batch_digest("alice", 2),
        await ledger.declared_proxies(),
    )


async def test_the_copy_equals_the_sqlite_ledger_and_the_log_goes_on_after_it(
    hub: HubConfig, cluster: PgCluster
) -> None:
    sqlite = SQLiteLedger(hub.ledger_path)
    await sqlite.open()
    try:
        await fill(sqlite)
        before = await snapshot(sqlite)
    finally:
        await sqlite.close()
    dsn = cluster.new_database()
    report = await migrate_to_postgres(hub.ledger_path, dsn)
    assert {c.table: (c.source, c.target) for c in report} == {
        "invites": (3, 3), "members": (2, 2), "batches": (3, 3), "signals": (3, 3),
        "decisions": (3, 3), "journal": (1, 1), "member_proxies": (1, 1)}
    pg = PostgresLedger(dsn)
    await pg.open()
    elector = Elector(dsn, "replica-1")
    try:
        assert await snapshot(pg) == before
        await pg.check_integrity()
        await elector.step()
        pg.on_lease(elector.lease)
        # The first decision made on PostgreSQL follows the last one made on SQLite...
        assert await pg.write(WriteGroup(decisions=[DecisionRecord(
            "block", "45.13.7.9", NOW + 60, "ssh-bruteforce", "alice", NOW)])) == [4]
        # ...and journal and signal ids go on above the copied ones.
        (entry,) = await pg.journal_append([JournalEntry("readiness", "alice", NOW, b"{}")])
        assert entry == 2
    finally:
        await elector.resign()
        await pg.close()
    with pytest.raises(HubError, match="already holds a ledger"):
        await migrate_to_postgres(hub.ledger_path, dsn)


def test_the_command_points_hub_toml_at_the_database_and_members_read_from_it(
    hub: HubConfig, cluster: PgCluster
) -> None:
    import asyncio

    async def one_member() -> None:
        ledger = SQLiteLedger(hub.ledger_path)
        await ledger.open()
        try:
            await ledger.add_invite(InviteRecord("h1", "alice", time.time(), time.time() + 60))
            await ledger.redeem_invite("h1", MemberRecord("alice", "ka", b"a" * 32, (), 0),
                                       time.time())
        finally:
            await ledger.close()

    asyncio.run(one_member())
    dsn = cluster.new_database()
    runner = CliRunner()
    done = runner.invoke(cli, ["hub", "migrate", "--data", str(hub.data_dir), "--to", dsn])
    assert done.exit_code == 0, done.output
    assert "members             1 rows in SQLite           1 in PostgreSQL" in done.output
    assert load_hub_config(hub.data_dir).database == dsn
    listed = runner.invoke(cli, ["hub", "members", "--data", str(hub.data_dir), "--json"])
    assert listed.exit_code == 0 and '"name":"alice"' in listed.output
    again = runner.invoke(cli, ["hub", "migrate", "--data", str(hub.data_dir), "--to", dsn])
    assert again.exit_code != 0 and "already names a database" in again.output
