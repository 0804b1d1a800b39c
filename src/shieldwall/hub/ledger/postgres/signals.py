"""Batches and signals on PostgreSQL: the group's rows, the reads explain and the policy
make, and retention. Each function runs on the caller's connection (writes inside the
caller's transaction).

Signal ids are drawn from their sequence inside the writer's transaction, so every
batch's ``first_signal`` bounds the ids of its signals from below, as on SQLite, and
the policy and retention find recent or old signals through the batches' time index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from shieldwall.hub.ledger.postgres import decision_log, rows
from shieldwall.hub.ledger.storage import StoredSignal, WriteGroup

if TYPE_CHECKING:
    import asyncpg

    from shieldwall.hub.policy_view import PolicyRows, ViewQuery

_SIGNAL_COPY = ["id", "member", "seq", "kind", "target", "scenario", "count", "first_seen",
                "last_seen", "duration", "received", "reason", "evidence", "outcome", "note",
                "decision"]


async def append(conn: asyncpg.Connection, group: WriteGroup, cursors: list[int]) -> None:
    """The group's batches and signals; ``cursors`` are its decisions' seqs."""
    # One int8[] (decoded in C), not one record per signal; ARRAY keeps the rows' order.
    ids: list[int] = await conn.fetchval(
        "SELECT ARRAY(SELECT nextval('signals_id_seq') FROM generate_series(1, $1))",
        len(group.signals),
    )
    first = ids[0] if ids else int(await conn.fetchval("SELECT COALESCE(MAX(id), 0) + 1 FROM signals"))
    if group.batches:
        await conn.copy_records_to_table(
            "batches", columns=["member", "seq", "digest", "received", "count", "first_signal"],
            records=[(b.member, b.seq, b.digest, b.received, b.count, first) for b in group.batches],
        )
    if group.signals:
        encode = msgspec.json.encode
        await conn.copy_records_to_table("signals", columns=_SIGNAL_COPY, records=[
            (i, r.member, r.seq, (s := r.signal).kind, s.target, s.scenario, s.count,
             s.first_seen, s.last_seen, s.duration, r.received, s.reason,
             encode(s.evidence).decode() if s.evidence else "[]", r.outcome, r.note,
             None if r.decision_index is None else cursors[r.decision_index])
            for i, r in zip(ids, group.signals, strict=True)
        ])


async def expire(conn: asyncpg.Connection, before: float, limit: int) -> int:
    """Delete up to ``limit`` signals and batches received before ``before``."""
    # The first batch received at or after ``before`` says where the old signals end: no
    # index on every signal's time, which every write would pay for (as on SQLite).
    end = await conn.fetchval(
        "SELECT COALESCE((SELECT MIN(first_signal) FROM batches WHERE received >= $1),"
        " (SELECT COALESCE(MAX(id), 0) + 1 FROM signals))", before,
    )
    removed = await conn.fetchval(
        "WITH gone AS (DELETE FROM signals WHERE id IN (SELECT id FROM signals WHERE"
        " id < $1 AND received < $2 ORDER BY id LIMIT $3) RETURNING 1)"
        " SELECT count(*) FROM gone", end, before, limit,
    )
    # Batches only recognise retries; members.last_seq keeps the order.
    await conn.execute(
        "DELETE FROM batches WHERE (member, seq) IN (SELECT member, seq FROM batches"
        " WHERE received < $1 LIMIT $2)", before, limit,
    )
    return int(removed)


async def last_seqs(conn: asyncpg.Connection) -> dict[str, int]:
    """member -> highest applied sequence number (members' column survives retention)."""
    found = await conn.fetch(
        "SELECT member, MAX(seq) AS seq FROM (SELECT member, MAX(seq) AS seq FROM batches"
        " GROUP BY member UNION ALL SELECT name, last_seq FROM members WHERE last_seq > 0)"
        " AS t GROUP BY member"
    )
    return {str(r["member"]): int(r["seq"]) for r in found}


async def batch_digest(conn: asyncpg.Connection, member: str, seq: int) -> str | None:
    """The digest stored for ``(member, seq)``."""
    digest = await conn.fetchval(
        "SELECT digest FROM batches WHERE member = $1 AND seq = $2", member, seq
    )
    return None if digest is None else str(digest)


async def signals_for(
    conn: asyncpg.Connection, targets: Sequence[str], limit: int
) -> list[StoredSignal]:
    """The latest signals on ``targets``, newest first (already-blocked ones are unindexed)."""
    found = await conn.fetch(
        f"SELECT {rows.SIGNAL_COLUMNS} FROM signals WHERE target = ANY($1::text[])"
        " AND outcome <> 'already-blocked' ORDER BY id DESC LIMIT $2",
        [rows.storable(t) for t in targets], limit,
    )
    return [rows.stored_signal(r) for r in found]


async def policy_rows(conn: asyncpg.Connection, query: ViewQuery) -> PolicyRows:
    """Recent decisions, charges and quorum-relevant signals, as the policy asks."""
    from shieldwall.hub.policy_view import PolicyRows

    now = query.now
    decisions = [decision_log.stored(r) for r in await conn.fetch(
        f"SELECT {decision_log.COLUMNS} FROM decisions WHERE created > $1 ORDER BY seq",
        now - query.horizon,
    )]
    charges = [(str(r["charged"]), float(r["created"])) for r in await conn.fetch(
        "SELECT charged, created FROM decisions WHERE created > $1 AND charged <> '' ORDER BY seq",
        now - query.charge_horizon,
    )]
    first = await conn.fetchval(
        "SELECT MIN(first_signal) FROM batches WHERE received > $1", now - query.signal_horizon
    )
    signals = [rows.stored_signal(r) for r in await conn.fetch(
        f"SELECT {rows.SIGNAL_COLUMNS} FROM signals WHERE id >= $1 AND received > $2"
        " AND (kind = 'retract' OR NOT (scenario = ANY($3::text[]))) ORDER BY id",
        first if first is not None else 2**62, now - query.signal_horizon,
        [rows.storable(c) for c in query.confirmed],
    )]
    return PolicyRows(decisions=decisions, charges=charges, signals=signals)


async def recent_volume(conn: asyncpg.Connection, since: float) -> dict[str, int]:
    """member -> signals in batches received after ``since`` (quota rebuild)."""
    found = await conn.fetch(
        "SELECT member, SUM(count) AS n FROM batches WHERE received > $1 GROUP BY member", since
    )
    return {str(r["member"]): int(r["n"]) for r in found}
