"""The shared readiness roster on PostgreSQL: each member's latest entry, for every replica.

A replica writes the entries of the heartbeats it took, many in one statement, and
reads the rows heard since a moment: together they make one roster of the alliance
(:mod:`shieldwall.hub.roster_share`). A row is replaced only by a later heartbeat, so
two replicas writing the same member at once keep the newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from shieldwall.hub.ledger.postgres.rows import storable

if TYPE_CHECKING:
    import asyncpg

#: ``(member, seen, body)``: when the member was heard (hub clock) and its entry's bytes.
Row = tuple[str, float, bytes]


async def put(conn: asyncpg.Connection, rows: Sequence[Row]) -> None:
    """Upsert ``rows`` (one statement); an older heartbeat never replaces a newer one."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO readiness_roster (member, seen, body) SELECT m, s, b FROM"
        " unnest($1::text[], $2::float8[], $3::bytea[]) AS r(m, s, b)"
        " ON CONFLICT (member) DO UPDATE SET seen = EXCLUDED.seen, body = EXCLUDED.body"
        " WHERE readiness_roster.seen < EXCLUDED.seen",
        [storable(m) for m, _, _ in rows], [s for _, s, _ in rows], [b for _, _, b in rows],
    )


async def since(conn: asyncpg.Connection, seen: float) -> list[Row]:
    """Rows heard after ``seen``."""
    found = await conn.fetch(
        "SELECT member, seen, body FROM readiness_roster WHERE seen > $1", seen)
    return [(str(r["member"]), float(r["seen"]), bytes(r["body"])) for r in found]
