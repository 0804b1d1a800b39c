"""The institutions' records as the dashboard shows them: readiness, drills, council,
arsenal. Each reads its own room's records (roster, drill journal, act record, rule
figures); when a room has nothing yet, the page says how to start it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shieldwall.ui.views import clock_text

if TYPE_CHECKING:
    from shieldwall.hub.api import HubContext


@dataclass(frozen=True)
class Table:
    """A page of records: title, a sentence of context, headings and rows."""

    title: str
    intro: str
    headings: tuple[str, ...]
    rows: Sequence[tuple[str, ...]] = ()
    empty: str = "Nothing yet."
    details: str = ""


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


@dataclass
class Institutions:
    """Reads the institutions' records for the dashboard (``app`` state is read lazily:
    a room that is not running on this hub shows as empty)."""

    app_state: Any = None

    async def readiness(
        self, hub: HubContext, now: float
    ) -> tuple[dict[str, str], dict[str, list[Any]]]:
        """member -> its roster state, and member -> its checks (name, state, reason)."""
        roster = getattr(getattr(self.app_state, "roster", None), "keeper", None)
        if roster is None:
            return {}, {}
        states = {name: entry.state for name, entry in roster.roster.items()}
        checks = {name: list(entry.checks) for name, entry in roster.roster.items()}
        return states, checks

    async def propagation(self, hub: HubContext, now: float) -> tuple[list[float], str]:
        """Detection -> block on all, in milliseconds, from the recent drill reports."""
        from shieldwall.drills.journal import recent_reports

        reports = await recent_reports(hub.ledger, limit=50)
        values = [
            m.detect_to_block * 1000 for r in reports for m in r.members
            if m.detect_to_block is not None
        ]
        if not reports:
            return [], "No drill yet: `shieldwall drill run` measures the chain on every member."
        return values, f"From the last {len(reports)} drill report(s), per member."

    async def table(self, which: str, hub: HubContext, now: float) -> Table:
        """The records page of ``which`` (drills, council or arsenal)."""
        if which == "drills":
            return await self._drills(hub)
        if which == "council":
            return await self._journal(
                hub, "Council", "council", "Acts of the council: proposals, signatures,"
                " publications and chair handovers (`shieldwall council history`).",
                "No council act yet: `shieldwall council init` founds one.",
            )
        return await self._journal(
            hub, "Arsenal", "arsenal", "Shared detection rules, their status and measured"
            " effectiveness (`shieldwall arsenal list`).",
            "No rule record yet: `shieldwall arsenal propose PACK.toml` submits one.",
        )

    async def _drills(self, hub: HubContext) -> Table:
        from shieldwall.drills.journal import recent_reports

        reports = await recent_reports(hub.ledger, limit=20)
        rows = []
        details = []
        for r in reports:
            failed = [m.member for m in r.members if not m.passed]
            rows.append((
                r.id, clock_text(r.started), r.target, "passed" if r.passed else "FAILED",
                str(len(r.members)), _seconds(r.p50), _seconds(r.p99), ", ".join(failed) or "-",
            ))
            for m in r.members:
                stages = " ".join(
                    f"{s.stage}:{'ok' if s.ok else ('-' if s.ok is None else 'FAIL')}"
                    f"{'' if s.latency is None else f'({s.latency * 1000:.0f}ms)'}"
                    for s in m.stages
                )
                details.append(f"{r.id} {m.member:<16} {stages} {m.why}".rstrip())
        return Table(
            "Drills", "Exercises of detect → signal → decide → push → enforce on every member,"
            " on documentation addresses only.",
            ("drill", "started (UTC)", "target", "result", "members", "p50", "p99", "failed"),
            rows, "No drill yet: `shieldwall drill run` orders one.", "\n".join(details),
        )

    async def _journal(
        self, hub: HubContext, title: str, prefix: str, intro: str, empty: str
    ) -> Table:
        entries = []
        for kind in (prefix, f"{prefix}.act", f"{prefix}.rule", f"{prefix}.status"):
            entries += await hub.ledger.journal(kind, limit=200, newest_first=True)
        entries.sort(key=lambda e: -e.id)
        rows = [
            (clock_text(e.at), e.kind, e.key, e.body[:160].decode("utf-8", "replace"))
            for e in entries[:200]
        ]
        return Table(title, intro, ("when (UTC)", "record", "about", "content"), rows, empty)
