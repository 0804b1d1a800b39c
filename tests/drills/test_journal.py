"""Drill reports in a real SQLite ledger's journal, and what readiness R8 learns from them."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from shieldwall.drills.journal import REPORT, drill_news, recent_reports, report_of
from shieldwall.drills.report import DrillReport, MemberResult
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import JournalEntry

pytestmark = pytest.mark.asyncio


def report(drill: str, finished: float, rows: dict[str, str]) -> DrillReport:
    members = tuple(MemberResult(name, passed=not why, stages=(), why=why,
                                 detect_to_block=None if why else 0.042)
                    for name, why in rows.items())
    return DrillReport(id=drill, target="192.0.2.7", issuer="operator", issued=finished - 5,
                       started=finished - 5, finished=finished,
                       passed=all(not w for w in rows.values()), stages=(), members=members)


async def test_each_member_learns_its_part_in_the_latest_drill_that_named_it(
    tmp_path: Path,
) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    await ledger.open(create=True)
    try:
        assert (await drill_news(ledger, "a")).alliance_last is None  # never drilled
        entries = [
            JournalEntry(REPORT, "drill-00000001", 100.0, msgspec.json.encode(
                report("drill-00000001", 100.0, {"a": "", "b": "enforce: table missing"}))),
            JournalEntry(REPORT, "drill-00000002", 200.0, msgspec.json.encode(
                report("drill-00000002", 200.0, {"a": ""}))),
            JournalEntry(REPORT, "drill-00000003", 250.0, b"not a report"),
        ]
        await ledger.journal_append(entries)
        a, b, c = [await drill_news(ledger, name) for name in "abc"]
        assert (a.passed, a.at, a.id, a.detail) == (True, 200.0, "drill-00000002",
                                                    "detection -> block 42 ms")
        assert (b.passed, b.at, b.detail) == (False, 100.0, "enforce: table missing")
        assert c.passed is None and c.alliance_last == 200.0  # never chosen
        assert [r.id for r in await recent_reports(ledger)] == ["drill-00000002",
                                                                "drill-00000001"]
        found = await report_of(ledger, "drill-00000001")
        assert found is not None and not found.passed
        assert await report_of(ledger, "drill-00000003") is None
    finally:
        await ledger.close()
