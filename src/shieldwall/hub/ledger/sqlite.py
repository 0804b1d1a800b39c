"""The embedded ledger: SQLite in WAL mode, one writer thread, group commit.

All writes run on one thread with one connection, so SQLite never sees two
writers from this process; a group (many envelopes) is one transaction and one
fsync (``synchronous=FULL``), which is what makes an acknowledgement durable.
Reads use a second connection: WAL lets them proceed while a commit is in
flight. Another process (the ``shieldwall hub`` admin commands) may write too;
SQLite serialises it and :meth:`SQLiteLedger.changed_elsewhere` notices, via
``PRAGMA data_version``, so the serving hub reloads what it caches.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.errors import HubError
from shieldwall.hub.ledger.storage import (
    InviteRecord,
    MemberRecord,
    PolicyRows,
    StoredDecision,
    StoredSignal,
    WriteGroup,
)
from shieldwall.signals.signal import Signal

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invites (
    secret_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL,
    expires REAL NOT NULL, used_by TEXT NOT NULL DEFAULT '', used_at REAL);
CREATE TABLE IF NOT EXISTS members (
    name TEXT PRIMARY KEY, key_id TEXT UNIQUE NOT NULL, public_key BLOB NOT NULL,
    owns TEXT NOT NULL, joined REAL NOT NULL, revoked_at REAL, revoked_why TEXT NOT NULL DEFAULT '',
    last_seen REAL NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
    signals INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
    cursor INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS batches (
    member TEXT NOT NULL, seq INTEGER NOT NULL, digest TEXT NOT NULL, received REAL NOT NULL,
    count INTEGER NOT NULL, first_signal INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batches_received ON batches (received);
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY, member TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, scenario TEXT NOT NULL, count INTEGER NOT NULL, first_seen REAL NOT NULL,
    last_seen REAL NOT NULL, duration REAL NOT NULL, received REAL NOT NULL, reason TEXT NOT NULL,
    evidence TEXT NOT NULL, note TEXT NOT NULL, decision INTEGER);
-- Signals about a target that is already blocked are kept (they count, and they are in
-- their batch) but not indexed by target: at tens of thousands of signals per second the
-- index is the costliest part of a write, and explain shows a block's evidence from the
-- decision itself.
CREATE INDEX IF NOT EXISTS signals_target ON signals (target)
    WHERE note NOT LIKE 'already-blocked%';
CREATE TABLE IF NOT EXISTS decisions (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, target TEXT NOT NULL,
    until REAL NOT NULL, scenario TEXT NOT NULL, origin TEXT NOT NULL, created REAL NOT NULL,
    charged TEXT NOT NULL DEFAULT '', evidence BLOB NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS decisions_target ON decisions (target);
CREATE INDEX IF NOT EXISTS decisions_created ON decisions (created);
"""

_MEMBER_COLUMNS = (
    "name, key_id, public_key, owns, joined, revoked_at, revoked_why, last_seen, last_seq,"
    " signals, rejected, cursor"
)
_DECISION_COLUMNS = "cursor, action, target, until, scenario, origin, created, charged, evidence"
_SIGNAL_COLUMNS = (
    "member, kind, target, scenario, count, first_seen, last_seen, duration, reason, evidence,"
    " received, note, decision"
)
_evidence_decoder = msgspec.json.Decoder(tuple[str, ...])


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit, so an acknowledged batch survives power loss.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Checkpoint less often: index pages touched by many commits are copied back once.
    conn.execute("PRAGMA wal_autocheckpoint=10000")
    return conn


def _member(row: Any) -> MemberRecord:
    (name, key_id, public_key, owns, joined, revoked_at, why, seen, seq, sent, rej, cursor) = row
    return MemberRecord(
        name=str(name),
        key_id=str(key_id),
        public_key=bytes(public_key),
        owns=tuple(msgspec.json.decode(str(owns), type=list[str])),
        joined=float(joined),
        revoked_at=None if revoked_at is None else float(revoked_at),
        revoked_why=str(why),
        last_seen=float(seen),
        last_seq=int(seq),
        signals=int(sent),
        rejected=int(rej),
        cursor=int(cursor),
    )


def _stored_decision(row: Any) -> StoredDecision:
    cursor, action, target, until, scenario, origin, created, charged, evidence = row
    decision = Decision(
        cursor=int(cursor),
        action="block" if action == "block" else "lift",
        target=str(target),
        until=float(until),
        scenario=str(scenario),
        origin=str(origin),
        created=float(created),
    )
    return StoredDecision(decision, str(charged), bytes(evidence))


def _stored_signal(row: Any) -> StoredSignal:
    (member, kind, target, scenario, count, first, last, duration, reason, evidence, received,
     note, decision) = row
    signal = Signal(
        kind=kind,
        target=str(target),
        scenario=str(scenario),
        count=int(count),
        first_seen=float(first),
        last_seen=float(last),
        duration=float(duration),
        reason=str(reason),
        evidence=_evidence_decoder.decode(str(evidence)),
    )
    return StoredSignal(
        str(member),
        signal,
        float(received),
        str(note),
        None if decision is None else int(decision),
    )


class SQLiteLedger:
    """The :class:`~shieldwall.hub.ledger.storage.Ledger` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-writer")
        self._write_conn: sqlite3.Connection | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._data_version: int | None = None

    # -- plumbing ------------------------------------------------------------------
    async def _on_writer(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()

        def run() -> T:
            if self._write_conn is None:
                raise HubError("ledger is closed")
            return work(self._write_conn)

        return await loop.run_in_executor(self._writer, run)

    def _reader(self) -> sqlite3.Connection:
        if self._read_conn is None:
            raise HubError("ledger is closed")
        return self._read_conn

    async def open(self) -> None:
        """Create the file and schema if needed; WAL mode, synchronous=FULL."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HubError(f"cannot create {self.path.parent}: {exc}") from None

        def setup() -> None:
            conn = _connect(self.path)
            conn.executescript(SCHEMA)
            self._write_conn = conn

        try:
            await asyncio.get_running_loop().run_in_executor(self._writer, setup)
            self._read_conn = _connect(self.path)
        except sqlite3.Error as exc:
            raise HubError(f"cannot open the ledger {self.path}: {exc}") from None

    async def close(self) -> None:
        """Close both connections and stop the writer thread."""

        def shut() -> None:
            if self._write_conn is not None:
                self._write_conn.close()
                self._write_conn = None

        if self._write_conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, shut)
        self._writer.shutdown(wait=True)
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    # -- membership ----------------------------------------------------------------
    async def add_invite(self, invite: InviteRecord) -> None:
        """Store a one-time join secret."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO invites (secret_hash, name, created, expires) VALUES (?,?,?,?)",
                (invite.secret_hash, invite.name, invite.created, invite.expires),
            )

        await self._on_writer(work)

    async def redeem_invite(
        self, secret_hash: str, member: MemberRecord, now: float
    ) -> MemberRecord:
        """Consume the invite and insert the member in one transaction."""

        def work(conn: sqlite3.Connection) -> MemberRecord:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT name, expires, used_by FROM invites WHERE secret_hash = ?",
                    (secret_hash,),
                ).fetchone()
                if row is None:
                    raise HubError("this join token is not known to the hub")
                invited_name, expires, used_by = row
                if used_by:
                    raise HubError("this join token was already used; ask for a new one")
                if expires < now:
                    raise HubError("this join token has expired; ask for a new one")
                name = invited_name or member.name
                taken = conn.execute(
                    "SELECT 1 FROM members WHERE name = ? OR key_id = ?", (name, member.key_id)
                ).fetchone()
                if taken is not None:
                    raise HubError(f"a member named {name!r} (or with this key) already exists")
                conn.execute(
                    "INSERT INTO members (name, key_id, public_key, owns, joined)"
                    " VALUES (?,?,?,?,?)",
                    (name, member.key_id, member.public_key,
                     msgspec.json.encode(list(member.owns)).decode(), now),
                )
                conn.execute(
                    "UPDATE invites SET used_by = ?, used_at = ? WHERE secret_hash = ?",
                    (name, now, secret_hash),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return MemberRecord(
                name=name, key_id=member.key_id, public_key=member.public_key,
                owns=member.owns, joined=now,
            )

        return await self._on_writer(work)

    async def revoke_member(self, name: str, why: str, now: float) -> MemberRecord:
        """Revoke ``name``'s key: whatever it signs afterwards is rejected."""

        def work(conn: sqlite3.Connection) -> MemberRecord:
            cur = conn.execute(
                "UPDATE members SET revoked_at = COALESCE(revoked_at, ?), revoked_why = ?"
                " WHERE name = ?",
                (now, why, name),
            )
            if cur.rowcount == 0:
                raise HubError(f"no member named {name!r}; see `shieldwall hub members`")
            row = conn.execute(
                f"SELECT {_MEMBER_COLUMNS} FROM members WHERE name = ?", (name,)
            ).fetchone()
            return _member(row)

        return await self._on_writer(work)

    async def members(self) -> list[MemberRecord]:
        """Every member by name."""
        rows = self._reader().execute(f"SELECT {_MEMBER_COLUMNS} FROM members ORDER BY name")
        return [_member(r) for r in rows]

    async def member_by_key(self, key_id: str) -> MemberRecord | None:
        """The member owning ``key_id``, revoked or not."""
        row = self._reader().execute(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE key_id = ?", (key_id,)
        ).fetchone()
        return None if row is None else _member(row)

    # -- signals and decisions -----------------------------------------------------
    async def last_seqs(self) -> dict[str, int]:
        """member -> highest applied sequence number."""
        rows = self._reader().execute("SELECT member, MAX(seq) FROM batches GROUP BY member")
        return {str(m): int(s) for m, s in rows}

    async def batch_digest(self, member: str, seq: int) -> str | None:
        """The digest stored for ``(member, seq)``."""
        row = self._reader().execute(
            "SELECT digest FROM batches WHERE member = ? AND seq = ?", (member, seq)
        ).fetchone()
        return None if row is None else str(row[0])

    async def write(self, group: WriteGroup) -> list[int]:
        """One transaction, one fsync; nothing is written if anything fails."""

        def work(conn: sqlite3.Connection) -> list[int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Cursors are assigned here, inside the write transaction (no other
                # writer can interleave), so one executemany serves the whole group.
                head = conn.execute("SELECT COALESCE(MAX(cursor), 0) FROM decisions").fetchone()[0]
                sequence = conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'decisions'"
                ).fetchone()
                base = max(int(head), int(sequence[0]) if sequence else 0)
                cursors = list(range(base + 1, base + 1 + len(group.decisions)))
                conn.executemany(
                    "INSERT INTO decisions (cursor, action, target, until, scenario, origin,"
                    " created, charged, evidence) VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        (c, d.action, d.target, d.until, d.scenario, d.origin, d.created,
                         d.charged, d.evidence)
                        for c, d in zip(cursors, group.decisions, strict=True)
                    ],
                )
                first = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM signals").fetchone()[0]
                conn.executemany(
                    "INSERT INTO batches (member, seq, digest, received, count, first_signal)"
                    " VALUES (?,?,?,?,?,?)",
                    [(b.member, b.seq, b.digest, b.received, b.count, first)
                     for b in group.batches],
                )
                encode = msgspec.json.encode
                conn.executemany(
                    "INSERT INTO signals (member, seq, kind, target, scenario, count, first_seen,"
                    " last_seen, duration, received, reason, evidence, note, decision)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            r.member, r.seq, r.signal.kind, r.signal.target, r.signal.scenario,
                            r.signal.count, r.signal.first_seen, r.signal.last_seen,
                            r.signal.duration, r.received, r.signal.reason,
                            encode(r.signal.evidence).decode(), r.note,
                            None if r.decision_index is None else cursors[r.decision_index],
                        )
                        for r in group.signals
                    ],
                )
                per_member: dict[str, tuple[int, int, float]] = {}
                for b in group.batches:
                    seq, count, seen = per_member.get(b.member, (0, 0, 0.0))
                    per_member[b.member] = (max(seq, b.seq), count + b.count, max(seen, b.received))
                conn.executemany(
                    "UPDATE members SET last_seq = MAX(last_seq, ?), signals = signals + ?,"
                    " last_seen = MAX(last_seen, ?) WHERE name = ?",
                    [(seq, count, seen, m) for m, (seq, count, seen) in per_member.items()],
                )
                conn.executemany(
                    "UPDATE members SET rejected = rejected + ? WHERE name = ?",
                    [(n, m) for m, n in group.rejected.items()],
                )
                conn.executemany(
                    "UPDATE members SET cursor = ?, last_seen = MAX(last_seen, ?) WHERE name = ?",
                    [(c, when, m) for m, (c, when) in group.cursors.items()],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return cursors

        try:
            return await self._on_writer(work)
        except sqlite3.Error as exc:
            raise HubError(f"ledger write failed, nothing was written: {exc}") from None

    async def decisions_after(self, cursor: int, limit: int) -> list[Decision]:
        """The log after ``cursor``, at most ``limit`` entries."""
        rows = self._reader().execute(
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE cursor > ? ORDER BY cursor LIMIT ?",
            (cursor, limit),
        )
        return [_stored_decision(r).decision for r in rows]

    async def head(self) -> int:
        """The highest cursor (0 for an empty log)."""
        row = self._reader().execute("SELECT MAX(cursor) FROM decisions").fetchone()
        return int(row[0] or 0)

    async def decisions_for(self, targets: Sequence[str]) -> list[StoredDecision]:
        """All decisions on ``targets``, in cursor order."""
        marks = ",".join("?" * len(targets))
        rows = self._reader().execute(
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE target IN ({marks})"
            " ORDER BY cursor",
            tuple(targets),
        )
        return [_stored_decision(r) for r in rows]

    async def signals_for(self, targets: Sequence[str], limit: int) -> list[StoredSignal]:
        """The latest signals on ``targets``, newest first."""
        marks = ",".join("?" * len(targets))
        rows = self._reader().execute(
            f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE target IN ({marks})"
            " AND note NOT LIKE 'already-blocked%' ORDER BY id DESC LIMIT ?",
            (*targets, limit),
        )
        return [_stored_signal(r) for r in rows]

    async def policy_rows(
        self, now: float, horizon: float, signal_horizon: float, confirmed: Sequence[str]
    ) -> PolicyRows:
        """Recent decisions, charges and quorum-relevant signals."""
        conn = self._reader()
        decisions = [
            _stored_decision(r)
            for r in conn.execute(
                f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE created > ? ORDER BY cursor",
                (now - horizon,),
            )
        ]
        charges = [
            (str(m), float(t))
            for m, t in conn.execute(
                "SELECT charged, created FROM decisions WHERE created > ? AND charged != ''"
                " ORDER BY cursor",
                (now - 3600.0,),
            )
        ]
        marks = ",".join("?" * len(confirmed))
        skip = f" AND scenario NOT IN ({marks})" if confirmed else ""
        first = conn.execute(
            "SELECT MIN(first_signal) FROM batches WHERE received > ?", (now - signal_horizon,)
        ).fetchone()[0]
        signals = [
            _stored_signal(r)
            for r in conn.execute(
                f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE id >= ? AND received > ?"
                f" AND (kind = 'retract' OR (kind = 'detection'{skip})) ORDER BY id",
                (first if first is not None else 2**62, now - signal_horizon, *confirmed),
            )
        ]
        return PolicyRows(decisions=decisions, charges=charges, signals=signals)

    async def changed_elsewhere(self) -> bool:
        """Whether another connection committed since the last call (first call: False)."""

        def work(conn: sqlite3.Connection) -> int:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

        version = await self._on_writer(work)
        changed = self._data_version is not None and version != self._data_version
        self._data_version = version
        return changed
