"""What only the SQLite ledger does: its file, its head mark beside it, its migration.

The rules every ledger keeps (one gapless cursor log across handles, invites used
once, atomic groups, revocation) are in test_ledger_postgres_contract.py, which runs
them on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from shieldwall.errors import HubError
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import (
    BatchRecord,
    DecisionRecord,
    InviteRecord,
    MemberRecord,
    WriteGroup,
)

NOW = 1_764_380_000.0


def block(target: str) -> DecisionRecord:
    return DecisionRecord("block", target, NOW + 60, "ssh-bruteforce", "alice", NOW)


async def test_a_missing_ledger_is_an_error_that_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(HubError, match="hub init") as caught:
        await SQLiteLedger(tmp_path / "ledger.db").open()
    assert "backup" in str(caught.value)
    assert not (tmp_path / "ledger.db").exists()


async def test_the_head_mark_refuses_a_log_that_went_back(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "l.db")
    await ledger.open(create=True)
    try:
        await ledger.write(WriteGroup(decisions=[block(f"45.13.7.{i}") for i in range(3)]))
        await ledger.mark_head(3)
        await ledger.check_integrity()
        await ledger.mark_head(7)  # as if four acknowledged decisions were lost since
        with pytest.raises(HubError, match="already announced cursor 7"):
            await ledger.check_integrity()
        assert await ledger.recover() == 7
        await ledger.check_integrity()
        assert await ledger.head() == 7
        assert await ledger.write(WriteGroup(decisions=[block("45.13.8.1")])) == [8]
    finally:
        await ledger.close()


async def test_a_mark_from_another_hubs_ledger_is_not_compared(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "l.db")
    await ledger.open(create=True)
    try:
        ledger.head_mark_path.write_bytes(b'{"ledger":"someone-else","head":99}')
        await ledger.check_integrity()
    finally:
        await ledger.close()


async def _with_alice(tmp_path: Path) -> SQLiteLedger:
    """A new ledger with one member, alice."""
    ledger = SQLiteLedger(tmp_path / "l.db")
    await ledger.open(create=True)
    await ledger.add_invite(InviteRecord("h", "", NOW, NOW + 60))
    await ledger.redeem_invite("h", MemberRecord("alice", "k", b"p" * 32, (), 0.0), NOW)
    return ledger


async def test_retention_deletes_old_signals_and_batches_but_never_the_order(
    tmp_path: Path
) -> None:
    from shieldwall.hub.ledger.storage import SignalRecord
    from shieldwall.signals.signal import Signal

    ledger = await _with_alice(tmp_path)
    try:
        signal = Signal(kind="detection", target="45.13.7.1", scenario="x")
        for seq, when in ((1, NOW - 100 * 86400), (2, NOW - 100 * 86400), (3, NOW)):
            await ledger.write(WriteGroup(
                batches=[BatchRecord("alice", seq, f"d{seq}", when, 1)],
                signals=[SignalRecord("alice", seq, signal, when, "quorum", "1/2")],
                decisions=[block(f"45.13.7.{seq}")],
            ))
        assert await ledger.expire(NOW - 90 * 86400, 1) == 1  # bounded per call
        assert await ledger.expire(NOW - 90 * 86400, 100) == 1
        assert await ledger.expire(NOW - 90 * 86400, 100) == 0
        left = await ledger.signals_for(["45.13.7.1"], 10)
        assert [s.received for s in left] == [NOW]
        assert await ledger.last_seqs() == {"alice": 3}
        assert await ledger.batch_digest("alice", 1) is None
        assert await ledger.head() == 3  # decisions are kept
    finally:
        await ledger.close()


async def test_a_signal_without_a_decision_stores_null_and_evidence_stays_a_blob(
    tmp_path: Path
) -> None:
    # The group commit binds "no decision" as 0 (stored as NULL through NULLIF) and a
    # decision's evidence as a bytearray: the stored values must be what None and bytes
    # stored before, column type included.
    import sqlite3

    from shieldwall.hub.ledger.storage import SignalRecord
    from shieldwall.signals.signal import Signal

    ledger = await _with_alice(tmp_path)
    try:
        plain = Signal(kind="detection", target="45.13.7.1", scenario="x")
        told = Signal(kind="detection", target="45.13.7.2", scenario="x", evidence=("a", "b"))
        evidence = b'[{"member":"alice"}]'
        cursors = await ledger.write(WriteGroup(
            batches=[BatchRecord("alice", 1, "d1", NOW, 2)],
            signals=[SignalRecord("alice", 1, plain, NOW, "quorum", "1/2"),
                     SignalRecord("alice", 1, told, NOW, "decided", "offense 1", 0)],
            decisions=[msgspec.structs.replace(block("45.13.7.2"), evidence=evidence)],
        ))
    finally:
        await ledger.close()
    with sqlite3.connect(tmp_path / "l.db") as conn:
        rows = conn.execute("SELECT target, decision, typeof(decision), evidence FROM signals"
                            " ORDER BY id").fetchall()
        stored = conn.execute("SELECT evidence, typeof(evidence) FROM decisions").fetchall()
    assert rows == [("45.13.7.1", None, "null", "[]"),
                    ("45.13.7.2", cursors[0], "integer", '["a","b"]')]
    assert stored == [(evidence, "blob")]


async def test_a_ledger_from_before_the_outcome_column_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE signals (id INTEGER PRIMARY KEY, member TEXT NOT NULL, seq INTEGER NOT NULL,"
        " kind TEXT NOT NULL, target TEXT NOT NULL, scenario TEXT NOT NULL, count INTEGER NOT"
        " NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL, duration REAL NOT NULL,"
        " received REAL NOT NULL, reason TEXT NOT NULL, evidence TEXT NOT NULL, note TEXT NOT"
        " NULL, decision INTEGER);"
        "CREATE TABLE invites (secret_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL"
        " NOT NULL, expires REAL NOT NULL, used_by TEXT NOT NULL DEFAULT '', used_at REAL);"
        "INSERT INTO signals VALUES (1,'a',1,'detection','45.1.1.1','x',1,0,0,0,1,'','[]',"
        "'quorum 1/2: waiting',NULL), (2,'a',1,'detection','45.1.1.1','x',1,0,0,0,2,'','[]',"
        "'already-blocked: blocked until 5',NULL), (3,'a',1,'detection','45.1.1.1','x',1,0,0,0,"
        "3,'','[]','protected: owned by member ''b''',NULL);"
    )
    conn.commit()
    conn.close()
    ledger = SQLiteLedger(path)
    await ledger.open()
    try:
        signals = await ledger.signals_for(["45.1.1.1"], 10)
        assert [s.outcome for s in signals] == ["protected", "quorum"]
    finally:
        await ledger.close()


async def test_a_ledger_from_before_decision_provenance_keeps_its_decisions(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE decisions (cursor INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL,"
        " target TEXT NOT NULL, until REAL NOT NULL, scenario TEXT NOT NULL, origin TEXT NOT NULL,"
        " created REAL NOT NULL, charged TEXT NOT NULL DEFAULT '', evidence BLOB NOT NULL"
        " DEFAULT '[]');"
        "INSERT INTO decisions (action, target, until, scenario, origin, created)"
        " VALUES ('block', '203.0.113.4', 99, 'ssh-bruteforce', 'alice', 1);"
    )
    conn.commit()
    conn.close()
    ledger = SQLiteLedger(path)
    await ledger.open()
    try:
        (old,) = await ledger.decisions_after(0, 10)
        assert (old.cursor, old.target, old.policy, old.rule, old.drill) == (
            1, "203.0.113.4", "", "", ""
        )
        assert await ledger.journal("readiness") == []
    finally:
        await ledger.close()
