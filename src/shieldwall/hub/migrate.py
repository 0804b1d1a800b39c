"""``shieldwall hub migrate --to postgresql://...``: a SQLite hub's ledger into PostgreSQL.

Everything the ledger holds is copied as it is: invites, members (their keys,
counts and stream cursors), batches, signals, decisions under their own cursors,
the institutions' journal, and the head announced to members. So members resume
their streams on the replicas at the cursor they hold, and nothing is decided
again. The copy is one PostgreSQL transaction that ends with a verification
count (and the highest cursor) compared table by table; any difference rolls it
back. The target must hold no ledger rows yet. Stop the hub before migrating:
what it writes afterwards stays in the SQLite file only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres.rows import storable
from shieldwall.hub.ledger.postgres.schema import initialise, redacted
from shieldwall.hub.ledger.sqlite import SQLiteLedger

#: table -> (PostgreSQL columns, the SQLite SELECT giving them, in that order)
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "invites": (("secret_hash", "name", "created", "expires", "used_by", "used_at", "owns"),
                "SELECT secret_hash, name, created, expires, used_by, used_at, owns FROM invites"),
    "members": (("name", "key_id", "public_key", "owns", "joined", "revoked_at", "revoked_why",
                 "last_seen", "last_seq", "signals", "rejected", "cursor"),
                "SELECT name, key_id, public_key, owns, joined, revoked_at, revoked_why,"
                " last_seen, last_seq, signals, rejected, cursor FROM members"),
    "member_proxies": (("member", "proxies", "declared"),
                       "SELECT member, proxies, declared FROM member_proxies"),
    "batches": (("member", "seq", "digest", "received", "count", "first_signal"),
                "SELECT member, seq, digest, received, count, first_signal FROM batches"),
    "signals": (("id", "member", "seq", "kind", "target", "scenario", "count", "first_seen",
                 "last_seen", "duration", "received", "reason", "evidence", "outcome", "note",
                 "decision"),
                "SELECT id, member, seq, kind, target, scenario, count, first_seen, last_seen,"
                " duration, received, reason, evidence, outcome, note, decision FROM signals"
                " ORDER BY id"),
    # Copied decisions carry epoch 0: no replica led when they were made.
    "decisions": (("seq", "epoch", "action", "target", "until", "scenario", "origin", "created",
                   "charged", "evidence", "policy", "rule", "drill"),
                  "SELECT cursor, 0, action, target, until, scenario, origin, created, charged,"
                  " evidence, policy, rule, drill FROM decisions ORDER BY cursor"),
    "journal": (("id", "kind", "key", "at", "body"),
                "SELECT id, kind, key, at, body FROM journal ORDER BY id"),
}
#: table -> the column whose maximum is compared too (cursors must be kept exactly).
HIGHEST = {"decisions": ("cursor", "seq"), "signals": ("id", "id"), "journal": ("id", "id")}
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Copied:
    """One table's verification: rows in SQLite, rows in PostgreSQL after the copy."""

    table: str
    source: int
    target: int


def _binary_columns(table: str) -> set[str]:
    """Columns that are bytea on PostgreSQL (SQLite may hand back text for them, or bytes
    for a text column): signals.evidence is text, decisions.evidence is bytea."""
    return {"public_key", "body"} | ({"evidence"} if table == "decisions" else set())


def _convert(table: str, columns: tuple[str, ...], row: tuple[object, ...]) -> tuple[object, ...]:
    binary = _binary_columns(table)
    out: list[object] = []
    for column, value in zip(columns, row, strict=True):
        if column in binary and isinstance(value, str):
            value = value.encode()
        elif column not in binary and isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            value = storable(value)
        out.append(value)
    return tuple(out)


async def _copy(source: sqlite3.Connection, conn: asyncpg.Connection) -> None:
    for table, (columns, select) in TABLES.items():
        cursor = source.execute(select)
        while rows := cursor.fetchmany(CHUNK):
            await conn.copy_records_to_table(
                table, columns=list(columns), records=[_convert(table, columns, r) for r in rows]
            )
    for table in ("signals", "journal"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
        )


async def _verify(source: sqlite3.Connection, conn: asyncpg.Connection) -> list[Copied]:
    report: list[Copied] = []
    for table in TABLES:
        before = int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        after = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        report.append(Copied(table, before, after))
        if before != after:
            raise HubError(f"verification failed: {table} has {before} rows in SQLite but"
                           f" {after} in PostgreSQL; nothing was kept")
        if table in HIGHEST:
            old, new = HIGHEST[table]
            high = source.execute(f"SELECT COALESCE(MAX({old}), 0) FROM {table}").fetchone()[0]
            moved = await conn.fetchval(f"SELECT COALESCE(MAX({new}), 0) FROM {table}")
            if int(high) != int(moved):
                raise HubError(f"verification failed: the highest {old} of {table} is {high}"
                               f" in SQLite but {moved} in PostgreSQL; nothing was kept")
    return report


async def migrate_to_postgres(ledger_path: Path, url: str) -> list[Copied]:
    """Copy the SQLite ledger at ``ledger_path`` into the (empty) ledger at ``url``."""
    sqlite_ledger = SQLiteLedger(ledger_path)
    await sqlite_ledger.open()
    try:
        await sqlite_ledger.check_integrity()  # never spread a damaged log
        announced = max(await sqlite_ledger.head(), _announced(sqlite_ledger))
    finally:
        await sqlite_ledger.close()
    await initialise(url)
    source = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        conn = await asyncpg.connect(url, timeout=10.0)
    except (OSError, asyncpg.PostgresError) as exc:
        source.close()
        raise HubError(f"cannot reach the database at {redacted(url)}: {exc}") from None
    try:
        async with conn.transaction():
            held = await conn.fetchval(
                "SELECT (SELECT count(*) FROM members) + (SELECT count(*) FROM decisions)"
                " + (SELECT count(*) FROM signals) + (SELECT count(*) FROM invites)"
            )
            if held:
                raise HubError(f"the database at {redacted(url)} already holds a ledger; migrate"
                               " into an empty one (`createdb`), never over a running alliance")
            await _copy(source, conn)
            report = await _verify(source, conn)
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('announced_head', $1) ON CONFLICT (key)"
                " DO UPDATE SET value = EXCLUDED.value", str(announced),
            )
        return report
    except asyncpg.PostgresError as exc:
        raise HubError(f"copying into {redacted(url)} failed, nothing was kept: {exc}") from None
    finally:
        source.close()
        await conn.close()


def _announced(ledger: SQLiteLedger) -> int:
    """The head the SQLite hub told members (its head mark), 0 when none was written."""
    import msgspec

    try:
        mark = msgspec.json.decode(ledger.head_mark_path.read_bytes())
    except (OSError, msgspec.DecodeError):
        return 0
    return int(mark.get("head", 0)) if isinstance(mark, dict) else 0
