"""Members on PostgreSQL (real server): two replicas redeeming one token admit one member,
and hostile text in stored fields comes back byte for byte through the row conversions."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres import membership, rows
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.storage import (
    BatchRecord,
    DecisionRecord,
    InviteRecord,
    MemberRecord,
    SignalRecord,
    WriteGroup,
)
from shieldwall.signals.signal import Signal
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()

NOW = 1_764_380_000.0
HOSTILE = ("'; DROP TABLE members; --", "line\nbreak \"quoted\" \\ back", "\u202eevil", "é🙂")


@pytest.fixture
async def ledgers(cluster: PgCluster) -> tuple[PostgresLedger, PostgresLedger]:
    dsn = cluster.new_database()
    one, two = PostgresLedger(dsn), PostgresLedger(dsn)
    await one.open(create=True)
    await two.open()
    # ``one`` leads: only the leader applies batches and appends decisions.
    elector = Elector(dsn, "r1")
    await elector.step()
    one.on_lease(elector.lease)
    yield one, two  # type: ignore[misc]
    await elector.resign()
    await one.close()
    await two.close()


async def test_two_replicas_redeeming_one_token_at_once_admit_one_member(
    ledgers: tuple[PostgresLedger, PostgresLedger],
) -> None:
    one, two = ledgers
    await one.add_invite(InviteRecord("h", "", NOW, NOW + 60))
    results = await asyncio.gather(
        one.redeem_invite("h", MemberRecord("web1", "k1", b"p" * 32, (), 0.0), NOW),
        two.redeem_invite("h", MemberRecord("web2", "k2", b"q" * 32, (), 0.0), NOW),
        return_exceptions=True,
    )
    joined = [r for r in results if isinstance(r, MemberRecord)]
    refused = [r for r in results if isinstance(r, HubError)]
    assert len(joined) == 1 and len(refused) == 1 and "already used" in str(refused[0])
    assert [m.name for m in await two.members()] == [joined[0].name]


async def test_hostile_text_round_trips_through_members_and_signals(
    ledgers: tuple[PostgresLedger, PostgresLedger],
) -> None:
    one, _ = ledgers
    owns = ("45.13.9.0/24", *HOSTILE)
    await one.add_invite(InviteRecord("h", HOSTILE[0], NOW, NOW + 60, owns=owns))
    await one.redeem_invite("h", MemberRecord("", "k'1", bytes(range(32)), owns, 0.0), NOW)
    await one.revoke_member(HOSTILE[0], HOSTILE[1], NOW + 1)
    (stored,) = await one.members()
    assert (stored.name, stored.key_id, stored.public_key, stored.owns) == (
        HOSTILE[0], "k'1", bytes(range(32)), owns
    )
    assert stored.revoked_at == NOW + 1 and stored.revoked_why == HOSTILE[1]
    signal = Signal(kind="detection", target="45.13.7.1", scenario="ssh", reason=HOSTILE[3],
                    evidence=HOSTILE)
    await one.write(WriteGroup(batches=[BatchRecord(HOSTILE[0], 1, HOSTILE[2], NOW, 1)],
                               signals=[SignalRecord(HOSTILE[0], 1, signal, NOW, "quorum", HOSTILE[1])]))
    (found,) = await one.signals_for(["45.13.7.1"], 5)
    assert found.signal == signal and found.member == HOSTILE[0] and found.note == HOSTILE[1]
    assert await one.batch_digest(HOSTILE[0], 1) == HOSTILE[2]


async def test_a_nul_byte_which_postgresql_text_cannot_hold_does_not_fail_the_group(
    ledgers: tuple[PostgresLedger, PostgresLedger],
) -> None:
    one, _ = ledgers
    signal = Signal(kind="detection", target="45.13.7.1", scenario="ssh\x00", reason="a\x00b",
                    evidence=("line\x00",))
    await one.write(WriteGroup(batches=[BatchRecord("m\x00", 1, "d\x00", NOW, 1)],
                               signals=[SignalRecord("m\x00", 1, signal, NOW, "quorum", "n")]))
    (found,) = await one.signals_for(["45.13.7.1"], 5)
    assert found.signal.reason == "a\ufffdb" and found.signal.scenario == "ssh\ufffd"
    assert found.signal.evidence == ("line\x00",)  # evidence is JSON: its escape is kept
    assert await one.batch_digest("m\x00", 1) == "d\ufffd"
    assert await one.member_by_key("k\x00") is None
    decision = DecisionRecord("block", "45.13.7.1", 2e9, "ssh\x00", "m\x00", NOW)
    assert await one.write(WriteGroup(decisions=[decision])) == [1]
    (stored,) = await one.decisions_for(["45.13.7.1"])
    assert (stored.decision.scenario, stored.decision.origin) == ("ssh\ufffd", "m\ufffd")
    assert await one.decisions_for(["45.13.7.1\x00"]) == []
    assert await one.signals_for(["45.13.7.1\x00"], 5) == []


async def test_row_conversions_read_what_the_queries_select(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    ledger = PostgresLedger(dsn)
    await ledger.open(create=True)
    conn = await asyncpg.connect(dsn)
    try:
        await membership.add_invite(conn, InviteRecord("s", "n", NOW, NOW + 5, owns=("10.0.0.0/8",)))
        row = await conn.fetchrow(f"SELECT {rows.INVITE_COLUMNS} FROM invites")
        assert row is not None
        assert rows.invite(row) == InviteRecord("s", "n", NOW, NOW + 5, "", ("10.0.0.0/8",))
        assert rows.ranges_text(("a", "b")) == '["a","b"]'
    finally:
        await conn.close()
        await ledger.close()
