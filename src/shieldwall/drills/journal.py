"""Drills in the ledger's journal: orders, members' signed stages and the finished reports.

Three kinds, each keyed by the drill id: ``drill.order`` (a :class:`DrillOrder`, written
by ``shieldwall drill run`` or the hub's schedule), ``drill.stage`` (a member's
:class:`SignedStage`, as received) and ``drill.report`` (the :class:`DrillReport`).
Nothing else stores drills; readiness (R8) reads the reports from here.
"""

from __future__ import annotations

import msgspec

from shieldwall.drills.order import DrillOrder, decode_order
from shieldwall.drills.report import DrillReport
from shieldwall.hub.ledger.storage import JournalEntry, Ledger, StoredJournalEntry
from shieldwall.readiness.heartbeat import DrillNews

ORDER, STAGE, REPORT = "drill.order", "drill.stage", "drill.report"
_report = msgspec.json.Decoder(DrillReport)


async def put_order(ledger: Ledger, order: DrillOrder, now: float) -> int:
    """Journal ``order``; the serving hub's conductor picks it up from there."""
    entry = JournalEntry(ORDER, order.body.id, now, msgspec.json.encode(order))
    return (await ledger.journal_append([entry]))[0]


def read_order(entry: StoredJournalEntry) -> DrillOrder | None:
    """The order a journal entry holds (``None`` if it does not decode)."""
    try:
        return decode_order(entry.body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def read_report(entry: StoredJournalEntry) -> DrillReport | None:
    """The report a journal entry holds (``None`` if it does not decode)."""
    try:
        return _report.decode(entry.body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


async def report_of(ledger: Ledger, drill: str) -> DrillReport | None:
    """The finished report of ``drill``, if there is one yet."""
    for entry in await ledger.journal(REPORT, key=drill, limit=1):
        return read_report(entry)
    return None


async def recent_reports(ledger: Ledger, limit: int = 20) -> list[DrillReport]:
    """The latest reports, newest first."""
    found = [read_report(e) for e in await ledger.journal(REPORT, limit=limit, newest_first=True)]
    return [r for r in found if r is not None]


async def drill_news(ledger: Ledger, member: str, scan: int = 50) -> DrillNews:
    """For readiness R8: the alliance's last drill and ``member``'s part in its latest one."""
    reports = await recent_reports(ledger, scan)
    if not reports:
        return DrillNews()
    last = reports[0].finished
    for report in reports:
        row = report.member(member)
        if row is not None:
            detail = row.why or (f"detection -> block {row.detect_to_block * 1000:.0f} ms"
                                 if row.detect_to_block is not None else "")
            return DrillNews(alliance_last=last, passed=row.passed, at=report.finished,
                             detail=detail[:200], id=report.id)
    return DrillNews(alliance_last=last)
