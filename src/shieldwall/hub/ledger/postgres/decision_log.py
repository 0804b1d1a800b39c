"""The decision log on PostgreSQL: fenced appends by the leader, reads by anyone.

Sequence numbers are assigned by the appender inside its transaction, not by a
PostgreSQL sequence: with two writers, allocation order is not commit order, and
a follower reading ``seq > cursor`` skips the row that commits late for good.
So every append first locks the one ``leader_epoch`` row and checks that the epoch
is still the appender's. That lock serialises appends (commit order is seq order)
and orders them against a new leader's epoch increment: an append either commits
before the new leader takes over, or sees the new epoch and writes nothing.

Each append ends with one ``NOTIFY`` carrying the new head, delivered at commit:
one per committed group, never one per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shieldwall.decisions.decision import Decision
from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres.rows import storable as text
from shieldwall.hub.ledger.storage import DecisionRecord, StoredDecision

if TYPE_CHECKING:
    import asyncpg

#: The channel every append notifies; the payload is the new head seq.
CHANNEL = "shieldwall_decisions"
COLUMNS = (
    "seq, action, target, until, scenario, origin, created, charged, evidence, policy, rule, drill"
)


class FencedError(HubError):
    """An append under an epoch that is no longer the leader's: nothing was written."""


async def bump_epoch(conn: asyncpg.Connection, holder: str, now: float) -> int:
    """Raise the epoch (the caller has just taken the leader lock); returns the new one."""
    epoch = await conn.fetchval(
        "UPDATE leader_epoch SET epoch = epoch + 1, holder = $1, since = $2 WHERE id = 1"
        " RETURNING epoch",
        holder, now,
    )
    if epoch is None:
        raise HubError("the ledger has no leader_epoch row: run `shieldwall hub init --database <URL>`")
    return int(epoch)


async def current_epoch(conn: asyncpg.Connection) -> tuple[int, str]:
    """(epoch, holder) as last written by a leader."""
    row = await conn.fetchrow("SELECT epoch, holder FROM leader_epoch WHERE id = 1")
    return (0, "") if row is None else (int(row["epoch"]), str(row["holder"]))


async def fence(conn: asyncpg.Connection, epoch: int) -> None:
    """Inside a transaction: lock the epoch row and refuse unless it is still ``epoch``."""
    current = await conn.fetchval("SELECT epoch FROM leader_epoch WHERE id = 1 FOR UPDATE")
    if current != epoch:
        raise FencedError(
            f"this replica appended as leader of epoch {epoch}, but epoch {current} has"
            " begun (another replica leads now); nothing was written, and this replica"
            " follows until it wins the election again"
        )


async def append(
    conn: asyncpg.Connection, epoch: int, records: Sequence[DecisionRecord]
) -> list[int]:
    """Inside the caller's transaction: fence, then append ``records`` after the head
    and queue one NOTIFY; returns their seqs (delivered only if the transaction commits)."""
    await fence(conn, epoch)
    head = int(await conn.fetchval("SELECT COALESCE(MAX(seq), 0) FROM decisions"))
    seqs = list(range(head + 1, head + 1 + len(records)))
    if records:
        # One statement whatever the group's size (COPY would first look up column types).
        await conn.execute(
            "INSERT INTO decisions (seq, epoch, action, target, until, scenario, origin, created,"
            " charged, evidence, policy, rule, drill) SELECT s, $2, a, t, u, sc, o, c, ch, e, p,"
            " ru, d FROM unnest($1::bigint[], $3::text[], $4::text[], $5::float8[], $6::text[],"
            " $7::text[], $8::float8[], $9::text[], $10::bytea[], $11::text[], $12::text[],"
            " $13::text[]) AS r(s, a, t, u, sc, o, c, ch, e, p, ru, d)",
            seqs, epoch, [text(r.action) for r in records], [text(r.target) for r in records],
            [r.until for r in records], [text(r.scenario) for r in records],
            [text(r.origin) for r in records], [r.created for r in records],
            [text(r.charged) for r in records], [r.evidence for r in records],
            [text(r.policy) for r in records], [text(r.rule) for r in records],
            [text(r.drill) for r in records],
        )
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, str(seqs[-1]))
    return seqs


async def append_group(
    conn: asyncpg.Connection, epoch: int, records: Sequence[DecisionRecord]
) -> list[int]:
    """:func:`append` in a transaction of its own."""
    async with conn.transaction():
        return await append(conn, epoch, records)


def stored(row: asyncpg.Record) -> StoredDecision:
    """A ``decisions`` row (selected as :data:`COLUMNS`) as the ledger's record."""
    record = DecisionRecord(
        action=str(row["action"]), target=str(row["target"]), until=float(row["until"]),
        scenario=str(row["scenario"]), origin=str(row["origin"]), created=float(row["created"]),
        charged=str(row["charged"]), evidence=bytes(row["evidence"]),
        policy=str(row["policy"]), rule=str(row["rule"]), drill=str(row["drill"]),
    )
    return StoredDecision(record.decision(int(row["seq"])), record.charged, record.evidence)


async def after(
    conn: asyncpg.Connection, cursor: int, limit: int, timeout: float | None = None
) -> list[Decision]:
    """Up to ``limit`` decisions with a seq above ``cursor``, in order."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM decisions WHERE seq > $1 ORDER BY seq LIMIT $2", cursor, limit,
        timeout=timeout,
    )
    return [stored(r).decision for r in rows]


async def on_targets(conn: asyncpg.Connection, targets: Sequence[str]) -> list[StoredDecision]:
    """Every decision on any of ``targets``, in seq order (explain)."""
    found = await conn.fetch(
        f"SELECT {COLUMNS} FROM decisions WHERE target = ANY($1::text[]) ORDER BY seq",
        [text(t) for t in targets],
    )
    return [stored(r) for r in found]


async def before(
    conn: asyncpg.Connection, cursor: int, limit: int, scenario: str, member: str, since: float,
) -> list[Decision]:
    """Newest first: decisions below ``cursor``, filtered as :meth:`Ledger.decisions_before`."""
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM decisions WHERE seq < $1 AND ($2 = '' OR scenario = $2)"
        " AND ($3 = '' OR strpos(',' || origin || ',', ',' || $3 || ',') > 0)"
        " AND created > $4 ORDER BY seq DESC LIMIT $5",
        cursor, text(scenario), text(member), since, limit,
    )
    return [stored(r).decision for r in rows]


async def head(conn: asyncpg.Connection) -> int:
    """The highest seq in the log (0 when empty)."""
    return int(await conn.fetchval("SELECT COALESCE(MAX(seq), 0) FROM decisions"))
