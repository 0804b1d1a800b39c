"""The member's local block store: active blocks with expiry and origin, in SQLite.

It holds every block this member enforces, whatever its source (the hub's
decisions, the operator's bans, imported lists): it is the member's one desired
state. A restart re-applies it in one transaction without waiting for anyone,
and a running agent follows changes other processes make to it
(:meth:`BlockStore.version`).
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from shieldwall.enforcers.block import Block
from shieldwall.errors import EnforcerError

#: Where a member keeps its state unless told otherwise.
DEFAULT_DATA_DIR = Path("/var/lib/shieldwall/member")
STORE_NAME = "blocks.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    target   TEXT PRIMARY KEY,
    until    REAL,              -- NULL: never expires
    origin   TEXT NOT NULL,
    scenario TEXT NOT NULL,
    reason   TEXT NOT NULL,
    created  REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_until ON blocks (until);
"""


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``explicit``, else ``$SHIELDWALL_DATA_DIR``, else the default."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SHIELDWALL_DATA_DIR")
    return Path(env) if env else DEFAULT_DATA_DIR


def _until_to_db(until: float) -> float | None:
    return None if math.isinf(until) else until


def _until_from_db(value: float | None) -> float:
    return math.inf if value is None else float(value)


class BlockStore:
    """Active blocks in ``<data dir>/blocks.sqlite3`` (WAL, one writer)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EnforcerError(
                f"cannot open the block store {path}: {exc} "
                "(choose another place with --data-dir or SHIELDWALL_DATA_DIR)"
            ) from None

    @classmethod
    def open(cls, directory: str | os.PathLike[str] | None = None) -> BlockStore:
        """Open the store in the data directory (created if needed)."""
        return cls(data_dir(directory) / STORE_NAME)

    def put(self, blocks: Iterable[Block]) -> int:
        """Insert or replace blocks in one transaction; returns how many."""
        rows = [(b.target, _until_to_db(b.until), b.origin, b.scenario, b.reason, b.created) for b in blocks]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def remove(self, targets: Iterable[str]) -> int:
        """Delete blocks by target; returns how many existed."""
        with self._db:
            self._db.execute("BEGIN")
            cursor = self._db.executemany("DELETE FROM blocks WHERE target = ?", [(t,) for t in targets])
        return cursor.rowcount

    def get(self, target: str) -> Block | None:
        """One block by canonical target (expired or not)."""
        row = self._db.execute("SELECT * FROM blocks WHERE target = ?", (target,)).fetchone()
        return None if row is None else self._block(row)

    def active(self, now: float) -> dict[str, Block]:
        """Blocks not expired at ``now``, keyed by target."""
        rows = self._db.execute(
            "SELECT * FROM blocks WHERE until IS NULL OR until > ? ORDER BY target", (now,)
        )
        return {row[0]: self._block(row) for row in rows}

    def version(self) -> int:
        """SQLite's ``data_version``: it changes whenever *another* connection commits.

        The running agent compares it before each change it makes, so a ban, unban
        or import written by the CLI (another process) is noticed without a reread
        of the whole table every time.
        """
        row = self._db.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def purge(self, now: float) -> int:
        """Forget blocks that expired by ``now``; returns how many."""
        with self._db:
            cursor = self._db.execute("DELETE FROM blocks WHERE until <= ?", (now,))
        return cursor.rowcount

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @staticmethod
    def _block(row: tuple[str, float | None, str, str, str, float]) -> Block:
        return Block(row[0], _until_from_db(row[1]), row[2], row[3], row[4], row[5])
