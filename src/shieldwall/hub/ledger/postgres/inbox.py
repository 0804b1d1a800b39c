"""The relay inbox on PostgreSQL: envelopes a follower replica took, for the leader.

A follower :func:`put` s each accepted envelope (committed before it answers
anything); the leader :func:`unanswered` s them, runs them through its policy
and :func:`answer` s them; the follower :func:`collect` s its answers (reading and
deleting in one statement). The leader takes what is still unanswered, never
"ids above the last one": ``BIGSERIAL`` ids are handed out in insert order, not
commit order, so a cursor over them could step for good over a row whose
transaction committed late. Taking "unanswered" means a late row is simply
taken in the next round.

The leader may crash after its ledger write and before :func:`answer`: the next
leader takes the row again, and the intake sees a byte-identical retry of a
batch already applied (``duplicate``), so nothing is decided twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg


#: Notified (empty payload, once per statement) when envelopes wait, and when answers do.
INBOX_CHANNEL = "shieldwall_inbox"
ANSWER_CHANNEL = "shieldwall_answers"


@dataclass(frozen=True, slots=True)
class Relayed:
    """One envelope waiting for the leader."""

    id: int
    key_id: str
    body: bytes


async def put(
    conn: asyncpg.Connection, replica: str, items: Sequence[tuple[str, bytes]], now: float
) -> list[int]:
    """Store ``(key id, raw envelope)`` items in one statement and wake the leader (one
    NOTIFY, delivered at commit); returns their ids, in order."""
    async with conn.transaction():
        found = await _insert(conn, replica, items, now)
        await conn.execute("SELECT pg_notify($1, '')", INBOX_CHANNEL)
    return sorted(int(r["id"]) for r in found)


async def _insert(
    conn: asyncpg.Connection, replica: str, items: Sequence[tuple[str, bytes]], now: float
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "INSERT INTO relay_inbox (replica, key_id, body, received)"
        " SELECT $1, k, b, $4 FROM unnest($2::text[], $3::bytea[]) WITH ORDINALITY AS r(k, b, n)"
        " ORDER BY n RETURNING id",
        replica, [k for k, _ in items], [b for _, b in items], now,
    )


async def unanswered(
    conn: asyncpg.Connection, limit: int, skip: Sequence[int] = ()
) -> list[Relayed]:
    """Up to ``limit`` envelopes nobody answered yet, oldest first (but see the module doc)."""
    found = await conn.fetch(
        "SELECT id, key_id, body FROM relay_inbox WHERE answer IS NULL"
        " AND NOT (id = ANY($2::bigint[])) ORDER BY id LIMIT $1", limit, list(skip),
    )
    return [Relayed(int(r["id"]), str(r["key_id"]), bytes(r["body"])) for r in found]


async def answer(
    conn: asyncpg.Connection, answers: Sequence[tuple[int, bytes]], now: float
) -> None:
    """Write the leader's answers (encoded by :mod:`shieldwall.hub.relay`) and wake the
    replicas waiting for them (one NOTIFY, at commit)."""
    if not answers:
        return
    async with conn.transaction():
        await conn.execute("SELECT pg_notify($1, '')", ANSWER_CHANNEL)
        await conn.execute(
            "UPDATE relay_inbox SET answer = a.answer, answered = $3 FROM unnest($1::bigint[],"
            " $2::bytea[]) AS a(id, answer) WHERE relay_inbox.id = a.id AND relay_inbox.answer"
            " IS NULL", [i for i, _ in answers], [a for _, a in answers], now,
        )


async def collect(conn: asyncpg.Connection, ids: Sequence[int]) -> dict[int, bytes]:
    """The answers among ``ids``, deleting those rows."""
    found = await conn.fetch(
        "DELETE FROM relay_inbox WHERE id = ANY($1::bigint[]) AND answer IS NOT NULL"
        " RETURNING id, answer", list(ids),
    )
    return {int(r["id"]): bytes(r["answer"]) for r in found}


async def sweep(conn: asyncpg.Connection, before: float) -> int:
    """Delete answers nobody collected (their replica died) answered before ``before``."""
    removed = await conn.fetchval(
        "WITH gone AS (DELETE FROM relay_inbox WHERE answer IS NOT NULL AND answered < $1"
        " RETURNING 1) SELECT count(*) FROM gone", before,
    )
    return int(removed)


async def backlog(conn: asyncpg.Connection) -> int:
    """How many envelopes wait for the leader (``/readyz``'s lag on the intake side)."""
    return int(await conn.fetchval("SELECT count(*) FROM relay_inbox WHERE answer IS NULL"))
