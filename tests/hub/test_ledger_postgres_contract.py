"""The Ledger contract, run on both backends (SQLite file; real PostgreSQL): the same
records in, the same answers out. PostgreSQL-only rules (only the leader appends) last."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres.decision_log import FencedError
from shieldwall.hub.ledger.postgres.elector import Elector
from shieldwall.hub.ledger.postgres.lease import LeaseTimes
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.postgres.schema import redacted
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
from shieldwall.hub.policy_view import ViewQuery
from shieldwall.signals.signal import Signal
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()

NOW = 1_764_380_000.0
#: Opens another handle on the same ledger (a second process or replica).
Opener = Callable[[], Awaitable[Ledger]]


def block(target: str, charged: str = "", created: float = NOW) -> DecisionRecord:
    return DecisionRecord("block", target, NOW + 60, "ssh-bruteforce", "alice", created, charged)


def detection(target: str, scenario: str = "ssh-bruteforce", kind: str = "detection") -> Signal:
    return Signal(kind=kind, target=target, scenario=scenario)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgresql"])
async def opener(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Ledger, Opener]]:
    """(the hub's ledger, a way to open another handle on it), both closed afterwards."""
    opened: list[Ledger] = []
    elector: Elector | None = None
    if request.param == "sqlite":
        async def another() -> Ledger:
            ledger = SQLiteLedger(tmp_path / "l.db")
            await ledger.open(create=not opened)
            opened.append(ledger)
            return ledger
    else:
        pg: PgCluster = request.getfixturevalue("cluster")
        dsn = pg.new_database()
        elector = Elector(dsn, "replica-1", LeaseTimes(retry=0.2, heartbeat=1.0, lease=30.0))

        async def another() -> Ledger:
            ledger = PostgresLedger(dsn)
            await ledger.open(create=not opened)
            if elector.lease.epoch == 0:
                await elector.step()
            ledger.on_lease(elector.lease)  # every handle belongs to the leading replica
            opened.append(ledger)
            return ledger

    try:
        yield await another(), another
    finally:
        for ledger in opened:
            await ledger.close()
        if elector is not None:
            await elector.resign()


async def test_two_handles_share_one_gapless_cursor_sequence(opener: tuple[Ledger, Opener]) -> None:
    hub, another = opener
    operator = await another()
    assert not await hub.changed_elsewhere()
    first = await hub.write(WriteGroup(decisions=[block("45.13.7.1"), block("45.13.7.2")]))
    second = await operator.write(WriteGroup(decisions=[block("45.13.7.3")]))
    assert await hub.changed_elsewhere()
    third = await hub.write(WriteGroup(decisions=[block("45.13.7.4")]))
    assert not await hub.changed_elsewhere()
    assert first + second + third == [1, 2, 3, 4]
    assert [d.cursor for d in await hub.decisions_after(1, 10)] == [2, 3, 4]
    assert [d.cursor for d in await operator.decisions_after(0, 2)] == [1, 2]
    assert await hub.head() == 4


async def test_invite_is_used_once_and_expires(opener: tuple[Ledger, Opener]) -> None:
    ledger, _ = opener
    await ledger.add_invite(InviteRecord("h1", "", NOW, NOW + 60, owns=("45.13.9.0/24",)))
    await ledger.add_invite(InviteRecord("h2", "", NOW, NOW - 1))
    member = MemberRecord("web1", "k1", b"p" * 32, ("45.13.9.0/24",), 0.0)
    joined = await ledger.redeem_invite("h1", member, NOW)
    assert joined.name == "web1" and joined.owns == ("45.13.9.0/24",)
    with pytest.raises(HubError, match="already used"):
        await ledger.redeem_invite("h1", MemberRecord("web2", "k2", b"q" * 32, (), 0), NOW)
    with pytest.raises(HubError, match="expired"):
        await ledger.redeem_invite("h2", MemberRecord("web3", "k3", b"r" * 32, (), 0), NOW)
    with pytest.raises(HubError, match="not known"):
        await ledger.redeem_invite("nope", MemberRecord("web4", "k4", b"s" * 32, (), 0), NOW)
    assert [m.name for m in await ledger.members()] == ["web1"]
    used = await ledger.invite("h1")
    assert used is not None and used.used_by == "web1" and used.owns == ("45.13.9.0/24",)
    assert await ledger.invite("nope") is None
    found = await ledger.member_by_key("k1")
    assert found is not None and found.public_key == b"p" * 32 and found.active


async def test_a_taken_name_or_key_cannot_join_twice(opener: tuple[Ledger, Opener]) -> None:
    ledger, _ = opener
    for secret in ("a", "b"):
        await ledger.add_invite(InviteRecord(secret, "", NOW, NOW + 60))
    await ledger.redeem_invite("a", MemberRecord("web1", "k1", b"p" * 32, (), 0.0), NOW)
    with pytest.raises(HubError, match="already exists"):
        await ledger.redeem_invite("b", MemberRecord("web9", "k1", b"x" * 32, (), 0.0), NOW)
    assert [m.key_id for m in await ledger.members()] == ["k1"]


async def test_a_failing_group_writes_nothing(opener: tuple[Ledger, Opener]) -> None:
    ledger, _ = opener
    await ledger.write(WriteGroup(batches=[BatchRecord("alice", 1, "d", NOW, 0)]))
    duplicate = WriteGroup(
        decisions=[block("45.13.7.1")],
        batches=[BatchRecord("alice", 2, "d", NOW, 0), BatchRecord("alice", 1, "d", NOW, 0)],
    )
    with pytest.raises(HubError, match="nothing was written"):
        await ledger.write(duplicate)
    assert await ledger.head() == 0 and await ledger.last_seqs() == {"alice": 1}
    assert await ledger.batch_digest("alice", 1) == "d"
    assert await ledger.batch_digest("alice", 2) is None


async def test_revoking_keeps_the_member_and_an_unknown_name_names_the_fix(
    opener: tuple[Ledger, Opener],
) -> None:
    ledger, _ = opener
    with pytest.raises(HubError, match="hub members"):
        await ledger.revoke_member("ghost", "expelled", NOW)
    await ledger.add_invite(InviteRecord("h", "alice", NOW, NOW + 60))
    await ledger.redeem_invite("h", MemberRecord("", "k", b"p" * 32, (), 0.0), NOW)
    gone = await ledger.revoke_member("alice", "expelled", NOW + 1)
    again = await ledger.revoke_member("alice", "left", NOW + 2)
    assert gone.revoked_at == again.revoked_at == NOW + 1 and again.revoked_why == "left"
    assert not again.active


async def test_member_counts_cursors_and_volume_follow_the_writes(opener: tuple[Ledger, Opener]) -> None:
    ledger, _ = opener
    await ledger.add_invite(InviteRecord("h", "", NOW, NOW + 60))
    await ledger.redeem_invite("h", MemberRecord("alice", "k", b"p" * 32, (), 0.0), NOW)
    await ledger.write(WriteGroup(
        batches=[BatchRecord("alice", 5, "d5", NOW + 1, 3), BatchRecord("alice", 4, "d4", NOW + 2, 2)],
        rejected={"alice": 2}, cursors={"alice": (7, NOW + 3)},
    ))
    (alice,) = await ledger.members()
    assert (alice.last_seq, alice.signals, alice.rejected, alice.cursor) == (5, 5, 2, 7)
    assert alice.last_seen == NOW + 3
    assert await ledger.recent_volume(NOW) == {"alice": 5}
    assert await ledger.recent_volume(NOW + 1.5) == {"alice": 2}
    assert await ledger.last_seqs() == {"alice": 5}


async def test_explain_reads_decisions_and_signals_by_target(opener: tuple[Ledger, Opener]) -> None:
    ledger, _ = opener
    cursors = await ledger.write(WriteGroup(
        batches=[BatchRecord("alice", 1, "d", NOW, 3)],
        signals=[
            SignalRecord("alice", 1, detection("45.13.7.1"), NOW, "quorum", "1/2 members"),
            SignalRecord("alice", 1, detection("45.13.7.1"), NOW + 1, "blocked", "2/2", 0),
            SignalRecord("alice", 1, detection("45.13.7.1"), NOW + 2, "already-blocked", "until x"),
        ],
        decisions=[DecisionRecord("block", "45.13.7.1", NOW + 60, "ssh-bruteforce", "alice", NOW,
                                  "alice", b'[{"member":"alice"}]')],
    ))
    (stored,) = await ledger.decisions_for(["45.13.7.1", "45.13.7.9"])
    assert stored.decision.cursor == cursors[0] and stored.charged == "alice"
    assert stored.evidence == b'[{"member":"alice"}]'
    found = await ledger.signals_for(["45.13.7.1"], 10)
    assert [(s.outcome, s.decision) for s in found] == [("blocked", cursors[0]), ("quorum", None)]
    assert [s.received for s in await ledger.signals_for(["45.13.7.1"], 1)] == [NOW + 1]
    assert await ledger.signals_for(["203.0.113.1"], 10) == []


async def test_policy_rows_hold_recent_decisions_charges_and_unconfirmed_signals(
    opener: tuple[Ledger, Opener],
) -> None:
    ledger, _ = opener
    old = NOW - 10_000
    await ledger.write(WriteGroup(decisions=[block("45.13.1.1", "bob", created=old)]))
    await ledger.write(WriteGroup(
        batches=[BatchRecord("bob", 1, "old", old, 1)],
        signals=[SignalRecord("bob", 1, detection("45.13.1.1"), old, "quorum", "1/2")],
    ))
    await ledger.write(WriteGroup(
        batches=[BatchRecord("alice", 1, "new", NOW - 10, 3)],
        signals=[
            SignalRecord("alice", 1, detection("45.13.2.1"), NOW - 10, "quorum", "1/2"),
            SignalRecord("alice", 1, detection("45.13.2.2", "manual"), NOW - 10, "blocked", "op", 0),
            SignalRecord("alice", 1, detection("45.13.2.2", "manual", "retract"), NOW - 10, "lifted",
                         "op"),
        ],
        decisions=[block("45.13.2.2", "alice", created=NOW - 10)],
    ))
    query = ViewQuery(now=NOW, horizon=3600, signal_horizon=600, confirmed=("manual",),
                      charge_horizon=3600)
    found = await ledger.policy_rows(query)
    assert [d.decision.target for d in found.decisions] == ["45.13.2.2"]
    assert found.charges == [("alice", NOW - 10)]
    assert [(s.signal.target, s.signal.kind) for s in found.signals] == [
        ("45.13.2.1", "detection"), ("45.13.2.2", "retract"),
    ]


async def test_a_decision_keeps_its_policy_version_rule_and_drill_id(
    opener: tuple[Ledger, Opener],
) -> None:
    ledger, _ = opener
    made = DecisionRecord(
        "block", "192.0.2.7", NOW + 60, "ssh-bruteforce", "alice", NOW,
        policy="ab" * 32, rule="sshd@3/ssh-bruteforce@2", drill="drill-1",
    )
    plain = block("203.0.113.9")
    cursors = await ledger.write(WriteGroup(decisions=[made, plain]))
    first, second = await ledger.decisions_after(0, 10)
    assert (first.policy, first.rule, first.drill) == ("ab" * 32, "sshd@3/ssh-bruteforce@2", "drill-1")
    assert (second.policy, second.rule, second.drill) == ("", "", "")
    (stored,) = await ledger.decisions_for(["192.0.2.7"])
    assert stored.decision.cursor == cursors[0] and stored.decision.drill == "drill-1"


async def test_decisions_before_pages_newest_first_with_filters(
    opener: tuple[Ledger, Opener],
) -> None:
    ledger, _ = opener
    records = [
        DecisionRecord("block", f"203.0.113.{i}", NOW + 60, "ssh-bruteforce" if i % 2 else "http-probe",
                       "alice,bob" if i % 3 == 0 else "bobby", NOW + i)
        for i in range(1, 11)
    ]
    await ledger.write(WriteGroup(decisions=records))
    page = await ledger.decisions_before(11, 4)
    assert [d.cursor for d in page] == [10, 9, 8, 7]
    assert [d.cursor for d in await ledger.decisions_before(page[-1].cursor, 100)] == list(range(6, 0, -1))
    probes = await ledger.decisions_before(11, 100, scenario="http-probe")
    assert [d.cursor for d in probes] == [10, 8, 6, 4, 2]
    # A member's whole name: "bob" is not a prefix match of "bobby".
    assert [d.cursor for d in await ledger.decisions_before(11, 100, member="bob")] == [9, 6, 3]
    assert [d.cursor for d in await ledger.decisions_before(11, 100, since=NOW + 8)] == [10, 9]
    assert await ledger.decisions_before(11, 100, member="b%") == []


async def test_the_journal_lists_entries_by_kind_and_key_in_order_and_survives_reopening(
    opener: tuple[Ledger, Opener],
) -> None:
    ledger, another = opener
    ids = await ledger.journal_append([
        JournalEntry("readiness", "alice", NOW, b'{"state":"ok"}'),
        JournalEntry("readiness", "bob", NOW + 1, b'{"state":"failing"}'),
        JournalEntry("drill", "d1", NOW + 2, b"{}"),
    ])
    assert ids == sorted(ids) and len(set(ids)) == 3
    # Written with a group: committed with it, and nothing when the group fails.
    await ledger.write(WriteGroup(journal=[JournalEntry("readiness", "alice", NOW + 3, b"{}")]))
    assert await ledger.journal_append([]) == []
    other = await another()
    readiness = await other.journal("readiness")
    assert [(e.key, e.at) for e in readiness] == [("alice", NOW), ("bob", NOW + 1), ("alice", NOW + 3)]
    assert [e.body for e in await other.journal("readiness", key="bob")] == [b'{"state":"failing"}']
    newest = await other.journal("readiness", key="alice", newest_first=True, limit=1)
    assert [e.at for e in newest] == [NOW + 3]
    assert [e.key for e in await other.journal("readiness", after=readiness[0].id)] == ["bob", "alice"]
    assert [e.id for e in await other.journal("drill")] == [ids[2]]
    assert await other.journal("nothing-of-this-kind") == []


async def test_a_reader_following_the_journal_by_id_misses_nothing_written_concurrently(
    opener: tuple[Ledger, Opener],
) -> None:
    import asyncio

    ledger, another = opener
    writers = [ledger, await another()]
    reader = await another()

    async def write(handle: Ledger, name: str) -> list[int]:
        ids: list[int] = []
        for i in range(60):
            ids += await handle.journal_append([JournalEntry("race", name, NOW + i, b"{}")] * 2)
        return ids

    seen: list[int] = []
    done = asyncio.Event()

    async def follow() -> None:
        after = 0
        while True:
            finished = done.is_set()
            page = await reader.journal("race", after=after)
            seen.extend(e.id for e in page)
            after = page[-1].id if page else after
            if finished and not page:
                return
            await asyncio.sleep(0)

    follower = asyncio.create_task(follow())
    written = await asyncio.gather(write(writers[0], "a"), write(writers[1], "b"))
    done.set()
    await follower
    assert seen == sorted(written[0] + written[1])


async def test_the_head_mark_refuses_a_log_that_went_back(opener: tuple[Ledger, Opener]) -> None:
    ledger, _ = opener
    await ledger.write(WriteGroup(decisions=[block(f"45.13.7.{i}") for i in range(3)]))
    await ledger.mark_head(3)
    await ledger.check_integrity()
    await ledger.mark_head(7)  # as if four announced decisions were lost since
    with pytest.raises(HubError, match="already announced cursor 7"):
        await ledger.check_integrity()


async def test_retention_deletes_old_signals_and_batches_but_never_the_order(
    opener: tuple[Ledger, Opener],
) -> None:
    ledger, _ = opener
    await ledger.add_invite(InviteRecord("h", "", NOW, NOW + 60))
    await ledger.redeem_invite("h", MemberRecord("alice", "k", b"p" * 32, (), 0.0), NOW)
    signal = detection("45.13.7.1")
    for seq, when in ((1, NOW - 100 * 86400), (2, NOW - 100 * 86400), (3, NOW)):
        await ledger.write(WriteGroup(
            batches=[BatchRecord("alice", seq, f"d{seq}", when, 1)],
            signals=[SignalRecord("alice", seq, signal, when, "quorum", "1/2")],
            decisions=[block(f"45.13.7.{seq}")],
        ))
    assert await ledger.expire(NOW - 90 * 86400, 1) == 1  # bounded per call
    assert await ledger.expire(NOW - 90 * 86400, 100) == 1
    assert await ledger.expire(NOW - 90 * 86400, 100) == 0
    assert [s.received for s in await ledger.signals_for(["45.13.7.1"], 10)] == [NOW]
    assert await ledger.last_seqs() == {"alice": 3}
    assert await ledger.batch_digest("alice", 1) is None
    assert await ledger.head() == 3  # decisions are kept
    await ledger.probe(NOW)


# -- PostgreSQL only --------------------------------------------------------------------

async def test_a_database_without_a_ledger_is_an_error_that_says_how_to_fix_it(
    cluster: PgCluster,
) -> None:
    ledger = PostgresLedger(cluster.new_database())
    try:
        with pytest.raises(HubError, match="hub init --database"):
            await ledger.open()
    finally:
        await ledger.close()


async def test_only_the_leading_replica_appends_and_a_refused_group_writes_nothing(
    cluster: PgCluster,
) -> None:
    dsn = cluster.new_database()
    times = LeaseTimes(retry=0.2, heartbeat=1.0, lease=30.0)
    first, second = Elector(dsn, "r1", times), Elector(dsn, "r2", times)
    leader, follower = PostgresLedger(dsn), PostgresLedger(dsn)
    await leader.open(create=True)
    await follower.open()
    try:
        await first.step()
        await second.step()
        leader.on_lease(first.lease)
        follower.on_lease(second.lease)
        assert follower.epoch is None
        group = WriteGroup(batches=[BatchRecord("alice", 1, "d", NOW, 1)], decisions=[block("45.13.7.1")])
        with pytest.raises(FencedError, match="does not lead"):
            await follower.write(group)
        assert await leader.write(group) == [1]
        # The leader is deposed (its lock connection ends) and r2 takes over...
        await first.resign()
        await second.step()
        follower.on_lease(second.lease)
        late = WriteGroup(batches=[BatchRecord("alice", 2, "d2", NOW, 1)], decisions=[block("45.13.7.2")])
        with pytest.raises(FencedError, match="epoch 2 has begun"):
            await leader.write(late)  # ...but r1 has not heard yet: its late write fails whole
        assert await leader.last_seqs() == {"alice": 1}
        assert await follower.write(late) == [2]
    finally:
        await leader.close()
        await follower.close()
        await second.resign()


def test_messages_never_show_the_database_password() -> None:
    assert redacted("postgresql://hub:s3cret@db.example:5432/shieldwall") == (
        "postgresql://hub:***@db.example:5432/shieldwall"
    )
    assert redacted("postgresql://hub@db/shieldwall") == "postgresql://hub@db/shieldwall"
    assert redacted("postgresql://hub:pw@[::1]:5432/x") == "postgresql://hub:***@[::1]:5432/x"
