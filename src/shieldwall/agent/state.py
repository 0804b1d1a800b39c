"""The agent's durable state: the signal outbox and the decision cursor.

One SQLite file (``agent.db`` in the member's data directory). Signals are
queued here before they are sent, and deleted only once the hub acknowledged
them as durable, so an unreachable hub or a crash loses no signal. Active
blocks live in the enforcers' :class:`~shieldwall.enforcers.store.BlockStore`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from shieldwall.errors import ConfigError
from shieldwall.signals.signal import Signal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class AgentState:
    """Outbox and cursor; outbox writes are durable (synchronous=FULL) before returning."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            # The cursor needs no fsync of its own: after a power loss it can only
            # fall back, and decisions it then re-reads are applied idempotently.
            self._kv = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._kv.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the agent state {path}: {exc}") from None
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Signal)

    @classmethod
    def open(cls, data_dir: Path) -> AgentState:
        return cls(data_dir / "agent.db")

    def queue(self, signals: tuple[Signal, ...] | list[Signal]) -> None:
        """Add signals to the outbox (one transaction)."""
        rows = [(self._encoder.encode(s),) for s in signals]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO outbox (body) VALUES (?)", rows)

    def pending(self, limit: int) -> list[tuple[int, Signal]]:
        """The oldest queued signals, with their outbox ids."""
        rows = self._db.execute(
            "SELECT id, body FROM outbox ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [(row_id, self._decoder.decode(body)) for row_id, body in rows]

    def backlog(self) -> int:
        """How many signals wait for the hub."""
        row = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(row[0])

    def sent(self, ids: list[int]) -> None:
        """The hub acknowledged these: remove them from the outbox."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def cursor(self) -> int:
        """The last decision cursor handled (0 before the first)."""
        row = self._kv.execute("SELECT value FROM kv WHERE key = 'cursor'").fetchone()
        return int(row[0]) if row else 0

    def set_cursor(self, cursor: int) -> None:
        self._kv.execute(
            "INSERT INTO kv (key, value) VALUES ('cursor', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(cursor),),
        )

    def close(self) -> None:
        self._kv.close()
        self._db.close()
