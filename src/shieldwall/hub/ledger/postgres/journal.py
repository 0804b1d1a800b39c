"""The institutions' append-only journal on PostgreSQL (see :class:`~..storage.JournalEntry`).

Entries are written by whichever replica acts (a council act, a heartbeat's
transition, a drill report), so ids come from a sequence. A sequence hands out ids in
the order transactions ask, not the order they commit: a reader following the journal
by id (``after``) could step over a row that commits late, for good. So every append
first takes a transaction-level advisory lock: appends commit one at a time, in id
order (the journal's rate, a few records per second, makes the wait negligible).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shieldwall.hub.ledger.postgres.rows import storable
from shieldwall.hub.ledger.storage import JournalEntry, StoredJournalEntry

if TYPE_CHECKING:
    import asyncpg

#: The advisory lock that orders journal appends (beside schema.MIGRATION_LOCK).
JOURNAL_LOCK = 0x5357_0002


async def append(conn: asyncpg.Connection, entries: Sequence[JournalEntry]) -> list[int]:
    """Inside the caller's transaction: insert ``entries``; returns their ids in order."""
    if not entries:
        return []
    await conn.execute("SELECT pg_advisory_xact_lock($1)", JOURNAL_LOCK)
    found = await conn.fetch(
        "INSERT INTO journal (kind, key, at, body) SELECT k, y, a, b FROM unnest($1::text[],"
        " $2::text[], $3::float8[], $4::bytea[]) WITH ORDINALITY AS r(k, y, a, b, n)"
        " ORDER BY n RETURNING id",
        [storable(e.kind) for e in entries], [storable(e.key) for e in entries],
        [e.at for e in entries], [e.body for e in entries],
    )
    return sorted(int(r["id"]) for r in found)


async def exists(conn: asyncpg.Connection, kind: str, key: str) -> bool:
    """Whether an entry of ``kind`` about ``key`` was appended (a council act carried out)."""
    found = await conn.fetchval(
        "SELECT 1 FROM journal WHERE kind = $1 AND key = $2 LIMIT 1", storable(kind), storable(key)
    )
    return found is not None


async def read(
    conn: asyncpg.Connection, kind: str, key: str | None, after: int, limit: int,
    newest_first: bool,
) -> list[StoredJournalEntry]:
    """Entries of ``kind`` (and ``key``) with an id above ``after``."""
    order = "DESC" if newest_first else "ASC"
    found = await conn.fetch(
        "SELECT id, kind, key, at, body FROM journal WHERE kind = $1 AND id > $2"
        f" AND ($3::text IS NULL OR key = $3) ORDER BY id {order} LIMIT $4",
        storable(kind), after, None if key is None else storable(key), limit,
    )
    return [
        StoredJournalEntry(
            id=int(r["id"]), kind=str(r["kind"]), key=str(r["key"]), at=float(r["at"]),
            body=bytes(r["body"]),
        )
        for r in found
    ]
