"""The PostgreSQL ledger's schema: versioned, forward-only migrations, checked at start.

Migrations are the package's ``hub/ledger/migrations/NNNN_name.sql`` files, numbered
from 1 without a hole. ``shieldwall hub init --database URL`` applies the ones the
database lacks, in one transaction under an advisory lock (two replicas initialising
at once apply each file once). A replica starting on a database whose schema is
older or newer than the files it ships refuses to serve and says what to run: an
older schema would lack columns it writes, a newer one may hold rows it misreads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from shieldwall.errors import HubError

if TYPE_CHECKING:
    import asyncpg

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
#: pg_advisory_xact_lock key that serialises concurrent ``hub init`` runs.
MIGRATION_LOCK = 0x5357_0001


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


def parse_migrations(files: dict[str, str]) -> tuple[Migration, ...]:
    """Migrations from ``{file name: SQL}``, in order; refuses a bad name or a hole."""
    found: list[Migration] = []
    for file_name, sql in files.items():
        match = _NAME.match(file_name)
        if match is None:
            raise HubError(f"migration file {file_name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), sql))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise HubError(
                f"migrations must be numbered 1, 2, 3... without a hole: expected {expected:04d},"
                f" found {migration.version:04d}_{migration.name}.sql"
            )
    return tuple(found)


def shipped_migrations() -> tuple[Migration, ...]:
    """The migrations this Shieldwall ships as package data."""
    folder = resources.files("shieldwall.hub.ledger").joinpath("migrations")
    files = {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    }
    return parse_migrations(files)


def _ahead_or_foreign(applied: dict[int, str], known: tuple[Migration, ...]) -> str | None:
    """Why no migration can fix this database: it is newer, or not ours."""
    latest = known[-1].version if known else 0
    current = max(applied, default=0)
    if current > latest:
        return (
            f"the database's ledger schema is version {current}, newer than this Shieldwall"
            f" understands (up to {latest}): upgrade Shieldwall on this replica to the release"
            " the other replicas run"
        )
    for migration in known[:current]:
        if applied.get(migration.version) != migration.name:
            return (
                f"the database's schema version {migration.version} is"
                f" {applied.get(migration.version)!r}, not {migration.name!r}: this is not a"
                " ledger this Shieldwall wrote; point --database at the right database"
            )
    return None


def schema_problem(applied: dict[int, str], known: tuple[Migration, ...]) -> str | None:
    """Why a replica shipping ``known`` must not serve a database at ``applied``
    (version -> name), or None when they agree. The message says what to run."""
    latest = known[-1].version if known else 0
    current = max(applied, default=0)
    if current == 0:
        return (
            "the database holds no Shieldwall ledger: create it with"
            " `shieldwall hub init --database <URL>`"
        )
    problem = _ahead_or_foreign(applied, known)
    if problem is None and current < latest:
        problem = (
            f"the database's ledger schema is version {current}, older than this Shieldwall's"
            f" ({latest}): stop the older replicas, then migrate it forward with"
            " `shieldwall hub init --database <URL>`"
        )
    return problem


_BOOTSTRAP = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now())"
)


async def applied_versions(conn: asyncpg.Connection) -> dict[int, str]:
    """version -> name of the migrations the database has (empty when it has none)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    return {int(r["version"]): str(r["name"]) for r in rows}


async def migrate(
    conn: asyncpg.Connection, known: tuple[Migration, ...] | None = None
) -> tuple[int, int]:
    """Apply the migrations the database lacks; returns (version before, after).

    Refuses a database that is ahead of ``known`` (a newer Shieldwall wrote it).
    """
    known = shipped_migrations() if known is None else known
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute(_BOOTSTRAP)
        applied = await applied_versions(conn)
        before = max(applied, default=0)
        problem = _ahead_or_foreign(applied, known)
        if problem is not None:
            raise HubError(problem)
        for migration in known[before:]:
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version, migration.name,
            )
    return before, max(before, known[-1].version if known else 0)


async def require_current(
    conn: asyncpg.Connection, known: tuple[Migration, ...] | None = None
) -> int:
    """The schema version, when it is exactly what this Shieldwall ships; else HubError."""
    known = shipped_migrations() if known is None else known
    applied = await applied_versions(conn)
    problem = schema_problem(applied, known)
    if problem is not None:
        raise HubError(problem)
    return max(applied)


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def database_url_problem(url: str) -> str | None:
    """Why ``url`` is not a PostgreSQL URL this hub can use, or None."""
    if not url.startswith(("postgresql://", "postgres://")):
        return f"--database takes a postgresql://USER@HOST/DB URL, not {redacted(url)!r}"
    return None


async def initialise(url: str) -> tuple[int, int]:
    """``shieldwall hub init --database URL``: create or migrate the schema forward."""
    import asyncpg

    problem = database_url_problem(url)
    if problem is not None:
        raise HubError(problem)
    try:
        conn = await asyncpg.connect(url, timeout=10.0)
    except (OSError, asyncpg.PostgresError) as exc:
        raise HubError(f"cannot reach the database at {redacted(url)}: {exc}") from None
    try:
        return await migrate(conn)
    finally:
        await conn.close()
