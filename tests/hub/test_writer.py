"""The single writer: group commit, sequence rules, failures that lose nothing.

Runs against the real SQLite ledger in a temporary folder and (the writer fixture's
tests) against a real PostgreSQL ledger too; a write failure is simulated by a ledger
wrapper (a real disk error cannot be provoked reliably).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shieldwall.decisions.feed import Feed
from shieldwall.errors import HubError, SignalError
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import InviteRecord, MemberRecord, WriteGroup
from shieldwall.hub.members import secret_hash
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.policy import load_policy
from shieldwall.hub.protections import Protections
from shieldwall.hub.writer import Writer
from shieldwall.signals.envelope import OpenedEnvelope, open_envelope, seal_envelope
from shieldwall.signals.keys import MemberKey, key_id_of, new_seed, public_key_of
from shieldwall.signals.signal import Signal
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

NOW = 1_764_380_000.0
SEED = new_seed()
KEY = MemberKey("alice", key_id_of(public_key_of(SEED)), public_key_of(SEED))


def envelope(seq: int, *targets: str, ts: float = NOW) -> OpenedEnvelope:
    signals = [Signal(kind="detection", target=t, scenario="ssh-bruteforce") for t in targets]
    return open_envelope(seal_envelope(SEED, KEY.key_id, seq, ts, signals), lambda _k: KEY, NOW)


class FlakyLedger(SQLiteLedger):
    """The real ledger, except that chosen writes fail (as a full disk would)."""

    fail_next = 0

    async def write(self, group: WriteGroup) -> list[int]:
        if self.fail_next:
            self.fail_next -= 1
            raise HubError("disk full (simulated)")
        return await super().write(group)


class FlakyPostgres(PostgresLedger):
    """The real PostgreSQL ledger (of the leading replica), with chosen writes failing."""

    fail_next = 0

    async def write(self, group: WriteGroup) -> list[int]:
        if self.fail_next:
            self.fail_next -= 1
            raise HubError("database refused the write (simulated)")
        return await super().write(group)


cluster = pg_cluster_fixture()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
async def writer(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Writer]:
    """The writer on each backend (on PostgreSQL: the leading replica's ledger)."""
    ledger: FlakyLedger | FlakyPostgres
    elector: Elector | None = None
    if request.param == "sqlite":
        ledger = FlakyLedger(tmp_path / "ledger.db")
        await ledger.open(create=True)
    else:
        pg: PgCluster = request.getfixturevalue("cluster")
        ledger = FlakyPostgres(pg.new_database())
        await ledger.open(create=True)
        elector = Elector(ledger.url, "replica-1")
        await elector.step()
        ledger.on_lease(elector.lease)
    secret = "s"
    await ledger.add_invite(InviteRecord(secret_hash(secret), "alice", NOW, NOW + 60))
    await ledger.redeem_invite(
        secret_hash(secret), MemberRecord("alice", KEY.key_id, KEY.public_key, (), 0.0), NOW
    )
    feed = Feed(ledger.decisions_after)
    await feed.start(0)
    w = Writer(ledger, load_policy(), Protections([]), feed, HubMetrics(), lambda: NOW)
    await w.start()
    yield w
    await w.stop()
    if elector is not None:
        await elector.resign()
    await ledger.close()


async def test_concurrent_envelopes_share_one_commit(writer: Writer) -> None:
    acks = await asyncio.gather(*(writer.submit(envelope(i, f"45.13.7.{i}")) for i in range(1, 9)))
    assert [a.status for a in acks] == ["applied"] * 8
    assert writer.metrics.commits < 8 and writer.metrics.committed_envelopes == 8
    assert sorted(c for a in acks for c in a.decisions) == list(range(1, 9))


async def test_retry_within_the_same_group_is_a_duplicate(writer: Writer) -> None:
    first, again = await asyncio.gather(
        writer.submit(envelope(5, "45.13.7.1")), writer.submit(envelope(5, "45.13.7.1"))
    )
    assert (first.status, again.status) == ("applied", "duplicate")


async def test_out_of_order_envelope_is_replayed(writer: Writer) -> None:
    await writer.submit(envelope(9, "45.13.7.1"))
    with pytest.raises(SignalError) as caught:
        await writer.submit(envelope(8, "45.13.7.2"))
    assert caught.value.reason == "replayed"


async def test_late_retry_of_an_applied_batch_is_a_duplicate_not_stale(
    writer: Writer, tmp_path: Path
) -> None:
    raw = envelope(3, "45.13.7.1")
    await writer.submit(raw)
    writer.clock = lambda: NOW + 3600  # an hour later the member retries the same bytes
    assert (await writer.submit(raw)).status == "duplicate"
    with pytest.raises(SignalError) as caught:
        await writer.submit(envelope(4, "45.13.7.2"))
    assert caught.value.reason == "stale"


async def test_failed_write_refuses_the_batch_and_forgets_its_effects(writer: Writer) -> None:
    assert isinstance(writer.ledger, FlakyLedger | FlakyPostgres)
    writer.ledger.fail_next = 1
    with pytest.raises(HubError):
        await writer.submit(envelope(1, "45.13.7.1"))
    # The retry of the same bytes is applied (not a duplicate, not already blocked).
    ack = await writer.submit(envelope(1, "45.13.7.1"))
    assert ack.status == "applied" and len(ack.decisions) == 1
    assert await writer.ledger.head() == 1


class PoisonLedger(SQLiteLedger):
    """The real ledger, refusing any group that holds one chosen target.

    Stands for a value that passes every check but that storage cannot take
    (F1: an integer above 2**63-1 did this); the wire bounds refuse that one
    now, so the failure has to be provoked here to test the writer's isolation.
    """

    poison = "45.66.66.66"

    async def write(self, group: WriteGroup) -> list[int]:
        if any(r.signal.target == self.poison for r in group.signals):
            raise HubError("OverflowError: Python int too large to convert to SQLite INTEGER")
        return await super().write(group)


async def test_one_poison_envelope_never_fails_the_others_in_its_group(tmp_path: Path) -> None:
    ledger = PoisonLedger(tmp_path / "ledger.db")
    await ledger.open(create=True)
    await ledger.add_invite(InviteRecord(secret_hash("s"), "alice", NOW, NOW + 60))
    await ledger.redeem_invite(
        secret_hash("s"), MemberRecord("alice", KEY.key_id, KEY.public_key, (), 0.0), NOW
    )
    feed = Feed(ledger.decisions_after)
    await feed.start(0)
    w = Writer(ledger, load_policy(), Protections([]), feed, HubMetrics(), lambda: NOW)
    await w.start()
    try:
        items = [envelope(i, f"45.13.7.{i}") for i in (1, 2, 4, 5)]
        items.insert(2, envelope(3, PoisonLedger.poison))
        results = await asyncio.gather(*(w.submit(e) for e in items), return_exceptions=True)
        failed = [r for r in results if isinstance(r, Exception)]
        assert len(failed) == 1 and isinstance(results[2], HubError)
        assert all(not isinstance(r, Exception) and r.status == "applied"
                   for i, r in enumerate(results) if i != 2)
        assert await ledger.head() == 4
    finally:
        await w.stop()
        await ledger.close()


async def test_signals_older_than_the_retention_are_deleted_and_decisions_kept(
    writer: Writer,
) -> None:
    await writer.submit(envelope(1, "45.13.7.1"))
    assert len(await writer.ledger.signals_for(["45.13.7.1"], 10)) == 1
    writer.retention, writer.retention_every = 86400.0, 0.0
    writer.clock = lambda: NOW + 2 * 86400  # two days later, with a one-day retention
    for _ in range(200):
        if not await writer.ledger.signals_for(["45.13.7.1"], 10):
            break
        await asyncio.sleep(0.05)  # the writer's housekeeping runs when it is idle
    assert await writer.ledger.signals_for(["45.13.7.1"], 10) == []
    assert await writer.ledger.head() == 1
