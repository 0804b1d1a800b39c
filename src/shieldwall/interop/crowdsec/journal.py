"""The bouncer API's durable state: the decision journal, the bouncers and their cursors.

One SQLite file, ``<data dir>/crowdsec.sqlite3``. The journal numbers every
change of what bouncers see (a block published, extended, lifted or expired)
with the member's decision sequence; each bouncer's cursor is the last
sequence number it was sent, stored in the same transaction that reads the
delta, so a restart of the member or of the bouncer neither skips nor repeats
a change. Keys are stored as their SHA-512, as CrowdSec's LAPI does.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shieldwall.enforcers.block import Block
from shieldwall.errors import ConfigError
from shieldwall.interop.crowdsec.decision import Published
from shieldwall.interop.crowdsec.delta import (
    Answer,
    State,
    reconcile,
    stream_answer,
    with_replacements,
)
from shieldwall.interop.crowdsec.filters import DecisionFilter

FILE_NAME = "crowdsec.sqlite3"
BOUNCER_NAME = re.compile(r"[A-Za-z0-9@._-]{1,64}")
#: Longer keys are refused before hashing: nothing we mint is anywhere near.
MAX_KEY = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    target   TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL UNIQUE,   -- sequence number of this target's latest change
    state    TEXT NOT NULL,             -- 'new' (published) or 'deleted'
    id       INTEGER NOT NULL,          -- decision id: the seq at which it was published
    since    INTEGER NOT NULL,          -- id of its first publication in this run of blocks
    until    REAL,                      -- NULL: never expires
    origin   TEXT NOT NULL,
    scenario TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS bouncers (
    name       TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,
    created    REAL NOT NULL,
    cursor     INTEGER NOT NULL DEFAULT 0,
    last_pull  REAL,
    user_agent TEXT NOT NULL DEFAULT '',
    withheld   INTEGER NOT NULL DEFAULT 0
);
"""


def key_hash(key: str) -> str:
    """SHA-512 of a bouncer key, hex."""
    return hashlib.sha512(key.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class Bouncer:
    """One registered bouncer, as ``shieldwall bouncer list`` shows it."""

    name: str
    created: float
    cursor: int
    last_pull: float | None
    user_agent: str
    withheld: int


def connect(path: Path) -> sqlite3.Connection:
    """Open (and create) the interop database; errors say what to fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open {path}: {exc} (choose another --data-dir?)") from None
    return db


def _until_from_db(value: float | None) -> float:
    return math.inf if value is None else float(value)


class Journal:
    """Decisions as bouncers see them, bouncers and their cursors (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect(path)
        self.live: dict[str, Published] = {}
        self._seen = -1
        self._refresh()

    def _refresh(self) -> None:
        # Another process serving the same data directory may have written.
        head = self.head()
        if head == self._seen:
            return
        rows = self._db.execute(
            "SELECT id, target, until, origin, scenario, since FROM decisions WHERE state = 'new'"
        )
        self.live = {
            r[1]: Published(r[0], r[1], _until_from_db(r[2]), r[3], r[4], r[5]) for r in rows
        }
        self._seen = head

    @classmethod
    def open(cls, data_dir: Path) -> Journal:
        return cls(data_dir / FILE_NAME)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE: `shieldwall bouncer add` may write from another process.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def head(self) -> int:
        """The sequence number of the latest change (0 before any)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        return int(row[0]) if row else 0

    # -- the journal ------------------------------------------------------------

    def sync(self, active: Mapping[str, Block]) -> int:
        """Record how the store's active blocks differ from what was published; returns how many."""
        self._refresh()
        if not reconcile(self.live, active):
            return 0
        with self._write() as db:
            self._refresh()
            changes = reconcile(self.live, active)
            live = dict(self.live)
            seq = self.head()
            for block in changes.put:
                seq += 1
                until = None if math.isinf(block.until) else block.until
                held = live.get(block.target)
                since = seq if held is None else held.since
                db.execute(
                    "INSERT OR REPLACE INTO decisions VALUES (?, ?, 'new', ?, ?, ?, ?, ?)",
                    (block.target, seq, seq, since, until, block.origin, block.scenario),
                )
                live[block.target] = Published(seq, block.target, block.until, block.origin,
                                               block.scenario, since)
            for target in changes.gone:
                seq += 1
                db.execute("UPDATE decisions SET seq = ?, state = 'deleted' WHERE target = ?",
                           (seq, target))
                del live[target]
            db.execute("INSERT OR REPLACE INTO meta VALUES ('seq', ?)", (seq,))
            if changes.gone:
                self._prune(db)
            self.live, self._seen = live, seq
        return len(changes.put) + len(changes.gone)

    def _prune(self, db: sqlite3.Connection) -> None:
        # A deleted row is needed until every bouncer's cursor has passed it.
        row = db.execute("SELECT MIN(cursor) FROM bouncers").fetchone()
        floor = self.head() if row[0] is None else int(row[0])
        db.execute("DELETE FROM decisions WHERE state = 'deleted' AND seq <= ?", (floor,))

    def pull(
        self, bouncer: str, *, startup: bool, flt: DecisionFilter, now: float,
        user_agent: str = "", move_cursor: bool = True,
    ) -> Answer:
        """The decisions ``bouncer`` has not seen yet (startup: all live ones).

        With ``move_cursor`` (a GET) the cursor advances to the journal's head in
        the same transaction; a HEAD reads and moves nothing.
        """
        with self._write() as db:
            self._refresh()
            head = self.head()
            rows: list[tuple[State, Published]]
            if startup:
                rows = [("new", e) for e in self.live.values()]
            else:
                row = db.execute("SELECT cursor FROM bouncers WHERE name = ?", (bouncer,)).fetchone()
                cursor = int(row[0]) if row else head
                rows = with_replacements([
                    ("new" if r[0] == "new" else "deleted",
                     Published(r[1], r[2], _until_from_db(r[3]), r[4], r[5], r[6]))
                    for r in db.execute(
                        "SELECT state, id, target, until, origin, scenario, since FROM decisions "
                        "WHERE seq > ? AND seq <= ? ORDER BY seq", (cursor, head),
                    )
                ], cursor)
            # Counting withheld ranges reads every live entry: only when something moved.
            recount = startup or bool(rows)
            answer = stream_answer(rows, self.live.values(), flt, now, count_withheld=recount)
            if move_cursor:
                db.execute(
                    "UPDATE bouncers SET cursor = ?, last_pull = ?, user_agent = ?, "
                    "withheld = CASE WHEN ? THEN ? ELSE withheld END WHERE name = ?",
                    (head, now, user_agent[:200], recount, answer.withheld, bouncer),
                )
        return answer

    # -- bouncers ---------------------------------------------------------------

    def add_bouncer(self, name: str, now: float, key: str | None = None) -> str:
        """Register ``name``; returns its key (shown once: only the hash is kept)."""
        if not BOUNCER_NAME.fullmatch(name):
            raise ConfigError(f"bouncer name {name[:80]!r} must be 1-64 of A-Z a-z 0-9 @ . _ -")
        key = key or secrets.token_hex(24)
        if len(key) > MAX_KEY or len(key) < 16:
            raise ConfigError(f"a bouncer key must be 16 to {MAX_KEY} characters")
        with self._write() as db:
            if db.execute("SELECT 1 FROM bouncers WHERE name = ?", (name,)).fetchone():
                raise ConfigError(f"a bouncer named {name!r} exists; `shieldwall bouncer delete "
                                  f"{name}` first, or choose another name")
            # A new bouncer starts at the head: its first pull is a startup anyway.
            db.execute("INSERT INTO bouncers (name, key_hash, created, cursor) VALUES (?, ?, ?, ?)",
                       (name, key_hash(key), now, self.head()))
        return key

    def delete_bouncer(self, name: str) -> bool:
        """Forget a bouncer and its key; returns whether it existed."""
        with self._write() as db:
            cursor = db.execute("DELETE FROM bouncers WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def authenticate(self, key: str | None) -> str | None:
        """The name of the bouncer holding ``key``, or ``None``."""
        if not key or len(key) > MAX_KEY:
            return None
        row = self._db.execute(
            "SELECT name FROM bouncers WHERE key_hash = ?", (key_hash(key),)
        ).fetchone()
        return None if row is None else str(row[0])

    def bouncers(self) -> list[Bouncer]:
        """Every registered bouncer, by name."""
        rows = self._db.execute(
            "SELECT name, created, cursor, last_pull, user_agent, withheld FROM bouncers "
            "ORDER BY name"
        )
        return [Bouncer(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]
