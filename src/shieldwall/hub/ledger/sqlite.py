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
import os
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.errors import HubError
from shieldwall.hub.ledger.storage import (
    DecisionRecord,
    InviteRecord,
    JournalEntry,
    MemberChange,
    MemberRecord,
    StoredDecision,
    StoredJournalEntry,
    StoredSignal,
    WriteGroup,
)
from shieldwall.signals.signal import Signal

if TYPE_CHECKING:
    from shieldwall.hub.policy_view import PolicyRows, ViewQuery

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invites (
    secret_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL,
    expires REAL NOT NULL, used_by TEXT NOT NULL DEFAULT '', used_at REAL,
    owns TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS members (
    name TEXT PRIMARY KEY, key_id TEXT UNIQUE NOT NULL, public_key BLOB NOT NULL,
    owns TEXT NOT NULL, joined REAL NOT NULL, revoked_at REAL, revoked_why TEXT NOT NULL DEFAULT '',
    last_seen REAL NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
    signals INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
    cursor INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS member_proxies (
    member TEXT PRIMARY KEY, proxies TEXT NOT NULL, declared REAL NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    member TEXT NOT NULL, seq INTEGER NOT NULL, digest TEXT NOT NULL, received REAL NOT NULL,
    count INTEGER NOT NULL, first_signal INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS batches_received ON batches (received);
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY, member TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, scenario TEXT NOT NULL, count INTEGER NOT NULL, first_seen REAL NOT NULL,
    last_seen REAL NOT NULL, duration REAL NOT NULL, received REAL NOT NULL, reason TEXT NOT NULL,
    evidence TEXT NOT NULL, note TEXT NOT NULL, decision INTEGER,
    outcome TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS decisions (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, target TEXT NOT NULL,
    until REAL NOT NULL, scenario TEXT NOT NULL, origin TEXT NOT NULL, created REAL NOT NULL,
    charged TEXT NOT NULL DEFAULT '', evidence BLOB NOT NULL DEFAULT '[]',
    policy TEXT NOT NULL DEFAULT '', rule TEXT NOT NULL DEFAULT '', drill TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS journal_by_kind ON journal (kind, key, id);
CREATE INDEX IF NOT EXISTS decisions_target ON decisions (target);
CREATE INDEX IF NOT EXISTS decisions_created ON decisions (created);
"""

_MEMBER_COLUMNS = (
    "name, key_id, public_key, owns, joined, revoked_at, revoked_why, last_seen, last_seq,"
    " signals, rejected, cursor"
)
_DECISION_COLUMNS = (
    "cursor, action, target, until, scenario, origin, created, charged, evidence, policy, rule,"
    " drill"
)
_SIGNAL_COLUMNS = (
    "member, kind, target, scenario, count, first_seen, last_seen, duration, reason, evidence,"
    " received, outcome, note, decision"
)
#: Signals about a target that is already blocked are kept (they count, and they are in
#: their batch) but not indexed by target: at tens of thousands of signals per second the
#: index is the costliest part of a write, and explain shows a block's evidence from the
#: decision itself. The condition is on the typed outcome column, never on prose.
_TARGET_INDEX = (
    "CREATE INDEX IF NOT EXISTS signals_by_target ON signals (target)"
    " WHERE outcome != 'already-blocked'"
)
HEAD_MARK_SUFFIX = ".head"


class _HeadMark(msgspec.Struct, frozen=True):
    ledger: str
    head: int


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a ledger written by an earlier version to the current schema."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(signals)")}
    if "outcome" not in columns:
        conn.execute("ALTER TABLE signals ADD COLUMN outcome TEXT NOT NULL DEFAULT ''")
        # Once, for rows from before the column: their prose note starts with the kind.
        conn.execute(
            "UPDATE signals SET outcome = CASE WHEN note LIKE 'quorum %' THEN 'quorum'"
            " WHEN instr(note, ':') > 0 THEN substr(note, 1, instr(note, ':') - 1)"
            " ELSE note END"
        )
        conn.execute("DROP INDEX IF EXISTS signals_target")
    if "owns" not in {str(r[1]) for r in conn.execute("PRAGMA table_info(invites)")}:
        conn.execute("ALTER TABLE invites ADD COLUMN owns TEXT NOT NULL DEFAULT '[]'")
    decision_columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(decisions)")}
    for column in ("policy", "rule", "drill"):
        if column not in decision_columns:
            conn.execute(f"ALTER TABLE decisions ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    conn.execute(_TARGET_INDEX)
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('ledger_id', ?)", (secrets.token_hex(8),)
    )
_evidence_decoder = msgspec.json.Decoder(tuple[str, ...])


def _insert_journal(conn: sqlite3.Connection, entries: Sequence[JournalEntry]) -> list[int]:
    """Inside the caller's transaction: append ``entries``; returns their ids."""
    ids = []
    for e in entries:
        cur = conn.execute(
            "INSERT INTO journal (kind, key, at, body) VALUES (?,?,?,?)",
            (e.kind, e.key, e.at, e.body),
        )
        ids.append(int(cur.lastrowid or 0))
    return ids


def _change_members(conn: sqlite3.Connection, change: MemberChange, now: float) -> None:
    """Inside the caller's transaction: register ``change.admit``, revoke ``change.revoke``."""
    member = change.admit
    if member is not None:
        if conn.execute("SELECT 1 FROM members WHERE name = ? OR key_id = ?",
                        (member.name, member.key_id)).fetchone() is not None:
            raise HubError(f"a member named {member.name!r} (or with this key) already exists")
        conn.execute(
            "INSERT INTO members (name, key_id, public_key, owns, joined) VALUES (?,?,?,?,?)",
            (member.name, member.key_id, member.public_key,
             msgspec.json.encode(list(member.owns)).decode(), now),
        )
    if change.revoke and conn.execute(
        "UPDATE members SET revoked_at = COALESCE(revoked_at, ?), revoked_why = ? WHERE name = ?",
        (now, change.why, change.revoke),
    ).rowcount == 0:
        raise HubError(f"no member named {change.revoke!r}; see `shieldwall hub members`")


#: Rows per INSERT statement when a group is written. sqlite3 lets go of the GIL for each
#: statement's step and must win it back from the busy event loop before binding the
#: next: one statement per row paid that hand-over for every signal. One statement for
#: hundreds of rows pays it once (measured in bench/hub_replicas.py: see the README).
ROWS_PER_STATEMENT = 500


def _insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[tuple[Any, ...]],
                 marks: str = "") -> None:
    """``head VALUES (...), (...), ...``: ``rows`` (all of one width) in few statements.

    ``marks`` is one row's placeholders when not plain (``(?,?,NULLIF(?,0))``).
    """
    if not rows:
        return
    width = len(rows[0])
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(ROWS_PER_STATEMENT, limit // width))
    marks = marks or "(" + ",".join("?" * width) + ")"
    for start in range(0, len(rows), per):
        chunk = rows[start:start + per]
        conn.execute(f"{head} VALUES {','.join([marks] * len(chunk))}",
                     list(chain.from_iterable(chunk)))


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
    (cursor, action, target, until, scenario, origin, created, charged, evidence, policy, rule,
     drill) = row
    record = DecisionRecord(
        action=str(action), target=str(target), until=float(until), scenario=str(scenario),
        origin=str(origin), created=float(created), charged=str(charged),
        # The column's default '[]' is text: a row inserted without evidence reads as str.
        evidence=evidence.encode() if isinstance(evidence, str) else bytes(evidence),
        policy=str(policy), rule=str(rule), drill=str(drill),
    )
    return StoredDecision(record.decision(int(cursor)), record.charged, record.evidence)


def _stored_signal(row: Any) -> StoredSignal:
    (member, kind, target, scenario, count, first, last, duration, reason, evidence, received,
     outcome, note, decision) = row
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
        str(outcome),
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

    @property
    def head_mark_path(self) -> Path:
        """Where the highest announced cursor is kept, beside the database."""
        return self.path.with_name(self.path.name + HEAD_MARK_SUFFIX)

    async def open(self, create: bool = False) -> None:
        """Open (with ``create``: create) the file; WAL mode, synchronous=FULL.

        A missing ledger is an error otherwise: silently starting an empty one
        would tell every member its key is unknown.
        """
        if not create and not self.path.exists():
            raise HubError(
                f"no ledger at {self.path}. A new hub: run `shieldwall hub init --data"
                f" {self.path.parent}`. An existing hub: restore {self.path.name} (and"
                f" {self.head_mark_path.name}) from your backup."
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HubError(f"cannot create {self.path.parent}: {exc}") from None

        def setup() -> None:
            conn = _connect(self.path)
            try:
                conn.executescript(SCHEMA)
                _migrate(conn)
            except sqlite3.Error:
                conn.close()
                raise
            self._write_conn = conn

        try:
            await asyncio.get_running_loop().run_in_executor(self._writer, setup)
            self._read_conn = _connect(self.path)
        except sqlite3.Error as exc:
            raise HubError(f"cannot open the ledger {self.path}: {exc}") from None

    async def check_integrity(self) -> None:
        """``PRAGMA quick_check``, then the decision head against the head mark."""
        conn = self._reader()
        try:
            problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            raise HubError(
                f"the ledger {self.path} is damaged ({'; '.join(problems)[:300]}). Stop the hub"
                " and restore the ledger from your latest backup; do not serve from it."
            )
        mark = self._read_mark()
        if mark is None:
            return
        ledger_id = await self._ledger_id()
        head = await self.head()
        if mark.ledger == ledger_id and head < mark.head:
            raise HubError(
                f"the ledger's decision log ends at cursor {head}, but this hub already"
                f" announced cursor {mark.head} to members ({self.head_mark_path.name}):"
                f" {mark.head - head} decisions were lost (a disk fault, or an older backup)."
                " Serving would reuse cursors members already hold, and they would skip new"
                " decisions. Restore a newer backup, or accept the loss with `shieldwall hub"
                f" recover --data {self.path.parent}` (new decisions then start above"
                f" {mark.head})."
            )

    def _read_mark(self) -> _HeadMark | None:
        try:
            return msgspec.json.decode(self.head_mark_path.read_bytes(), type=_HeadMark)
        except FileNotFoundError:
            return None
        except (OSError, msgspec.DecodeError) as exc:
            raise HubError(
                f"{self.head_mark_path} is unreadable ({exc}); if the ledger is intact,"
                f" run `shieldwall hub recover --data {self.path.parent}`"
            ) from None

    async def _ledger_id(self) -> str:
        row = self._reader().execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        return "" if row is None else str(row[0])

    async def mark_head(self, head: int) -> None:
        """Write the head mark (write and rename; no fsync: it only has to survive a
        crash of the process, and a mark behind the ledger is never an error)."""
        data = msgspec.json.encode(_HeadMark(await self._ledger_id(), head))
        temporary = self.head_mark_path.with_name(self.head_mark_path.name + ".tmp")
        temporary.write_bytes(data)
        os.replace(temporary, self.head_mark_path)

    async def recover(self) -> int:
        """Accept a lost tail of the log: new cursors start above the head mark."""
        mark = self._read_mark()
        target = max(await self.head(), mark.head if mark is not None else 0)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM sqlite_sequence WHERE name = 'decisions'")
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('decisions', ?)", (target,)
            )
            conn.execute("COMMIT")

        await self._on_writer(work)
        await self.mark_head(target)
        return target

    async def probe(self, now: float) -> None:
        """A one-row durable write: fails when the disk or the file refuses writes."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)", (repr(now),)
            )

        try:
            await self._on_writer(work)
        except sqlite3.Error as exc:
            raise HubError(f"the ledger does not take writes: {exc}") from None

    async def expire(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` signals (and their batches) received before ``before``."""

        def work(conn: sqlite3.Connection) -> int:
            # Signals are appended in id order; the first batch received at or after
            # ``before`` says where the old ones end (batches are indexed by time, so no
            # index on every signal is needed, which would cost every write).
            row = conn.execute(
                "SELECT MIN(first_signal) FROM batches WHERE received >= ?", (before,)
            ).fetchone()
            end = row[0] if row[0] is not None else conn.execute(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM signals").fetchone()[0]
            cur = conn.execute(
                "DELETE FROM signals WHERE id IN (SELECT id FROM signals WHERE id < ?"
                " AND received < ? ORDER BY id LIMIT ?)",
                (end, before, limit),
            )
            # Batches are only needed to recognise retries; members.last_seq keeps the order.
            conn.execute(
                "DELETE FROM batches WHERE (member, seq) IN (SELECT member, seq FROM batches"
                " WHERE received < ? LIMIT ?)", (before, limit),
            )
            return int(cur.rowcount)

        try:
            return await self._on_writer(work)
        except sqlite3.Error as exc:
            raise HubError(f"retention sweep failed: {exc}") from None

    async def invite(self, secret_hash: str) -> InviteRecord | None:
        """The invite stored under ``secret_hash``."""
        row = self._reader().execute(
            "SELECT secret_hash, name, created, expires, used_by, owns FROM invites"
            " WHERE secret_hash = ?", (secret_hash,),
        ).fetchone()
        if row is None:
            return None
        return InviteRecord(
            str(row[0]), str(row[1]), float(row[2]), float(row[3]), str(row[4]),
            tuple(msgspec.json.decode(str(row[5]), type=list[str])),
        )

    async def recent_volume(self, since: float) -> dict[str, int]:
        """member -> signals in batches received after ``since``."""
        rows = self._reader().execute(
            "SELECT member, SUM(count) FROM batches WHERE received > ? GROUP BY member", (since,)
        )
        return {str(m): int(n) for m, n in rows}

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
                "INSERT INTO invites (secret_hash, name, created, expires, owns)"
                " VALUES (?,?,?,?,?)",
                (invite.secret_hash, invite.name, invite.created, invite.expires,
                 msgspec.json.encode(list(invite.owns)).decode()),
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

    async def declare_proxies(self, name: str, proxies: Sequence[str], now: float) -> None:
        """Replace ``name``'s declared reverse proxies (hub/proxies.py); empty withdraws them."""

        def work(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT revoked_at FROM members WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] is not None:
                raise HubError(f"no active member named {name!r} to declare proxies for")
            if proxies:
                conn.execute(
                    "INSERT OR REPLACE INTO member_proxies (member, proxies, declared) VALUES (?, ?, ?)",
                    (name, msgspec.json.encode(list(proxies)).decode(), now),
                )
            else:
                conn.execute("DELETE FROM member_proxies WHERE member = ?", (name,))

        await self._on_writer(work)

    async def declared_proxies(self) -> dict[str, tuple[str, ...]]:
        """member -> its declared reverse proxies."""
        rows = self._reader().execute("SELECT member, proxies FROM member_proxies ORDER BY member")
        return {member: tuple(msgspec.json.decode(text, type=list[str])) for member, text in rows}

    async def member_by_key(self, key_id: str) -> MemberRecord | None:
        """The member owning ``key_id``, revoked or not."""
        row = self._reader().execute(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE key_id = ?", (key_id,)
        ).fetchone()
        return None if row is None else _member(row)

    # -- signals and decisions -----------------------------------------------------
    async def last_seqs(self) -> dict[str, int]:
        """member -> highest applied sequence number."""
        # Members' own column too: retention deletes old batches, never the order.
        rows = self._reader().execute(
            "SELECT member, MAX(seq) FROM (SELECT member, seq FROM batches WHERE seq ="
            " (SELECT MAX(seq) FROM batches AS b WHERE b.member = batches.member)"
            " UNION ALL SELECT name, last_seq FROM members WHERE last_seq > 0) GROUP BY member"
        )
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
                _insert_rows(
                    conn,
                    "INSERT INTO decisions (cursor, action, target, until, scenario, origin,"
                    " created, charged, evidence, policy, rule, drill)",
                    [
                        # bytearray: bound as the same BLOB, but sqlite3 binds bytes only
                        # after failing to find an adapter (two exceptions formatted each).
                        (c, d.action, d.target, d.until, d.scenario, d.origin, d.created,
                         d.charged, bytearray(d.evidence), d.policy, d.rule, d.drill)
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
                _insert_rows(
                    conn,
                    "INSERT INTO signals (member, seq, kind, target, scenario, count, first_seen,"
                    " last_seen, duration, received, reason, evidence, outcome, note, decision)",
                    [
                        (
                            r.member, r.seq, (s := r.signal).kind, s.target, s.scenario,
                            s.count, s.first_seen, s.last_seen, s.duration, r.received, s.reason,
                            encode(s.evidence).decode() if s.evidence else "[]", r.outcome, r.note,
                            0 if r.decision_index is None else cursors[r.decision_index],
                        )
                        for r in group.signals
                    ],
                    # No decision is bound as 0 (no cursor is 0) and stored as NULL: binding
                    # None makes sqlite3 look for an adapter and format the AttributeError
                    # its lookup raises, once per row (6% of a group commit's instructions).
                    "(" + "?," * 14 + "NULLIF(?,0))",
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
                _insert_journal(conn, group.journal)
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
        """The highest cursor issued (0 for an empty log).

        Includes cursors a recovery skipped (``hub recover``): members holding one
        must not see the hub as having gone back.
        """
        row = self._reader().execute(
            "SELECT MAX(COALESCE((SELECT MAX(cursor) FROM decisions), 0), COALESCE((SELECT seq"
            " FROM sqlite_sequence WHERE name = 'decisions'), 0))"
        ).fetchone()
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
            " AND outcome != 'already-blocked' ORDER BY id DESC LIMIT ?",
            (*targets, limit),
        )
        return [_stored_signal(r) for r in rows]

    async def policy_rows(self, query: ViewQuery) -> PolicyRows:
        """Recent decisions, charges and quorum-relevant signals, as the policy asks."""
        from shieldwall.hub.policy_view import PolicyRows

        now, horizon, signal_horizon = query.now, query.horizon, query.signal_horizon
        confirmed = query.confirmed
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
                (now - query.charge_horizon,),
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
                f" AND (kind = 'retract' OR (kind != 'retract'{skip})) ORDER BY id",
                (first if first is not None else 2**62, now - signal_horizon, *confirmed),
            )
        ]
        return PolicyRows(decisions=decisions, charges=charges, signals=signals)

    async def decisions_before(
        self, before: int, limit: int, *, scenario: str = "", member: str = "",
        since: float = 0.0,
    ) -> list[Decision]:
        """Newest first, below ``before``; a walk down the cursor key that stops at ``limit``."""
        where: list[str] = ["cursor < ?"]
        args: list[object] = [before]
        if scenario:
            where.append("scenario = ?")
            args.append(scenario)
        if member:
            # origin is "a,b,c": match a whole name, never a prefix of another's.
            where.append("instr(',' || origin || ',', ?) > 0")
            args.append(f",{member},")
        if since:
            where.append("created > ?")
            args.append(since)
        rows = self._reader().execute(
            f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE {' AND '.join(where)}"
            " ORDER BY cursor DESC LIMIT ?",
            (*args, limit),
        )
        return [_stored_decision(r).decision for r in rows]

    # -- the institutions' journal ------------------------------------------------
    async def journal_append(self, entries: Sequence[JournalEntry]) -> list[int]:
        """One transaction, one fsync; returns the new entries' ids in order."""

        def work(conn: sqlite3.Connection) -> list[int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                ids = _insert_journal(conn, entries)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return ids

        if not entries:
            return []
        try:
            return await self._on_writer(work)
        except sqlite3.Error as exc:
            raise HubError(f"ledger write failed, nothing was written: {exc}") from None

    async def journal(
        self, kind: str, *, key: str | None = None, after: int = 0, limit: int = 1000,
        newest_first: bool = False,
    ) -> list[StoredJournalEntry]:
        """Entries of ``kind`` (and ``key``) with an id above ``after``."""
        where = "kind = ? AND id > ?" + (" AND key = ?" if key is not None else "")
        order = "DESC" if newest_first else "ASC"
        args: tuple[object, ...] = (kind, after) if key is None else (kind, after, key)
        rows = self._reader().execute(
            f"SELECT id, kind, key, at, body FROM journal WHERE {where} ORDER BY id {order}"
            " LIMIT ?",
            (*args, limit),
        )
        return [
            StoredJournalEntry(id=int(i), kind=str(k), key=str(y), at=float(a), body=bytes(b))
            for i, k, y, a, b in rows
        ]

    async def carry_out(self, record: JournalEntry, change: MemberChange) -> bool:
        """The act's change and its record in one transaction, unless its record is there."""

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM journal WHERE kind = ? AND key = ? LIMIT 1",
                                (record.kind, record.key)).fetchone() is not None:
                    conn.execute("ROLLBACK")
                    return False
                _change_members(conn, change, record.at)
                _insert_journal(conn, [record])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return True

        try:
            return await self._on_writer(work)
        except sqlite3.Error as exc:
            raise HubError(f"carrying out the council act failed, nothing was written: {exc}") from None

    async def changed_elsewhere(self) -> bool:
        """Whether another connection committed since the last call (first call: False)."""

        def work(conn: sqlite3.Connection) -> int:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

        version = await self._on_writer(work)
        changed = self._data_version is not None and version != self._data_version
        self._data_version = version
        return changed
