"""The institutions' records as the dashboard shows them: readiness, drills, council,
arsenal. Each reads its own room's records (roster, drill journal, act record, rule
figures); when a room has nothing yet, the page says how to start it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shieldwall.ui.views import clock_text

if TYPE_CHECKING:
    from shieldwall.decisions.decision import Decision
    from shieldwall.hub.api import HubContext
    from shieldwall.ui.propagation import Remembered


def _remembered() -> Remembered:
    from shieldwall.ui.propagation import Remembered  # the hub's ledger types, lazily

    return Remembered()


@dataclass(frozen=True)
class Table:
    """A page of records: title, a sentence of context, headings and rows."""

    title: str
    intro: str
    headings: tuple[str, ...]
    rows: Sequence[tuple[str, ...]] = ()
    empty: str = "Nothing yet."
    details: str = ""
    #: Open proposals an operator may add a councillor's signature to (council only).
    signable: tuple[str, ...] = ()


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


@dataclass
class Institutions:
    """Reads the institutions' records for the dashboard (``app`` state is read lazily:
    a room that is not running on this hub shows as empty)."""

    app_state: Any = None
    #: What the propagation figures need not read or measure again (bounded).
    _propagation: Remembered = field(default_factory=lambda: _remembered())

    async def readiness(
        self, hub: HubContext, now: float
    ) -> tuple[dict[str, str], dict[str, list[Any]], dict[str, str]]:
        """member -> its roster state, member -> its checks (code, name, state, reason),
        and member -> when its last heartbeat arrived."""
        roster = getattr(getattr(self.app_state, "roster", None), "keeper", None)
        if roster is None:
            return {}, {}, {}
        states = {name: entry.state for name, entry in roster.roster.items()}
        checks = {name: list(entry.checks) for name, entry in roster.roster.items()}
        beats = {name: clock_text(entry.seen or 0.0) for name, entry in roster.roster.items()}
        return states, checks, beats

    def trust(self, hub: HubContext, names: Sequence[str], now: float) -> dict[str, str]:
        """member -> its trust weight and, when its word does not decide alone, why
        (empty on a replica that does not run the policy)."""
        policy = getattr(hub.writer, "policy", None)
        trust = getattr(policy, "trust", None)
        if trust is None:
            return {}
        shown = {}
        for name in names:
            why = trust.why_not(name, now)
            shown[name] = f"{trust.weight(name):.2f}" + (f" · {why}" if why else "")
        return shown

    async def propagation(
        self, hub: HubContext, now: float, recent: Sequence[Decision] = (),
    ) -> tuple[dict[str, list[float]], str]:
        """Detection -> block on all, in milliseconds, per series: the recent drill
        reports (their ``on_all``) and the real blocks among ``recent`` (measured from
        the members' applied reports: :mod:`shieldwall.readiness.propagation`); and a
        note saying what was measured and how many of each."""
        from shieldwall.drills.journal import recent_reports
        from shieldwall.ui.propagation import GIVE_UP_AFTER, real_figures

        reports = await recent_reports(hub.ledger, limit=50)
        drills = [r.on_all * 1000 for r in reports if r.on_all is not None]
        roster = getattr(getattr(self.app_state, "roster", None), "keeper", None)
        skews = {} if roster is None else {
            name: e.skew for name, e in roster.roster.items() if e.skew is not None}
        real = await real_figures(hub.ledger, recent, self._propagation, skews, now)
        measured = (f"{len(real.latencies)} measured" if real.latencies or real.waiting
                    else "none measured yet (members report when they applied each block"
                         " in their heartbeats)")
        notes = [
            "Measured: detection (the earliest evidence's log time, corrected for that"
            " member's clock skew; drills: the injected line's detection) to the moment the"
            " last member expected to enforce the block (ready when it was decided, not"
            " owning the target) applied it.",
            f"Real decisions: {measured}"
            + (f", {real.waiting} waiting for a member (or given up on after"
               f" {GIVE_UP_AFTER / 60:.0f} min)" if real.waiting else "")
            + (f", {real.undetected} without a live detection (operator bans, replayed logs)"
               if real.undetected else "") + ".",
            f"Drills: {len(drills)} of the last {len(reports)} report(s) blocked on every"
            " member." if reports else
            "No drill yet: `shieldwall drill run` measures the chain on every member.",
        ]
        series = {"real decisions": [v * 1000 for v in real.latencies], "drills": drills}
        return series, " ".join(notes)

    async def table(self, which: str, hub: HubContext, now: float) -> Table:
        """The records page of ``which`` (drills, council or arsenal)."""
        if which == "drills":
            return await self._drills(hub)
        if which == "council":
            return self._council(hub, now)
        return await self._arsenal(hub, now)

    def _council(self, hub: HubContext, now: float) -> Table:
        from shieldwall.governance import store
        from shieldwall.governance.chair import chair_at, term_end, term_index
        from shieldwall.governance.history import history
        from shieldwall.governance.status import proposal_status

        title, intro = "Council", (
            "Open proposals with the signatures collected so far, the chair and its term,"
            " and every published act and handover (`shieldwall council status|history`)."
        )
        folder = hub.config.council_dir
        if folder is None:
            return Table(title, intro, (), empty="This alliance has no council yet:"
                         " `shieldwall council init` founds one (see the README).")
        pinned = bytes.fromhex(hub.config.charter) if hub.config.charter else None
        records, state = store.load_state(folder, pinned)
        pending = store.open_proposals(folder)
        t = int(now)
        rows = []
        for proposal in pending:
            status = proposal_status(state, proposal, t)
            counts = "; ".join(
                f"{c.council} {len(c.signers)}/{c.needed}: {', '.join(c.signers) or 'none'}"
                for c in status.counts
            )
            rows.append((status.id, status.kind, status.opened_by, clock_text(status.opened_at),
                         counts, "publishable" if status.publishable else status.problem))
        lines = []
        if state.trusted is not None:
            charter = state.trusted.charter
            chair = chair_at(charter.rotation, t, state.appointments)
            index = term_index(charter.rotation, t)
            ends = "" if index is None else f", term ends {clock_text(term_end(charter.rotation, index))}"
            lines.append(f"charter v{charter.version} ({state.charter_hex[:16]}), chair now:"
                         f" {chair or 'none'}{ends}")
        for entry in reversed(history(records, t, pending, pinned)):
            signed = f" (signed: {', '.join(entry.signers)})" if entry.signers else ""
            lines.append(f"{clock_text(entry.at)} {entry.event}: {entry.summary}{signed}")
        return Table(
            title, intro, ("proposal", "kind", "opened by", "opened (UTC)", "signatures",
                           "status"),
            rows, "No open proposal.", "\n".join(lines), tuple(p.id for p in pending),
        )

    async def _arsenal(self, hub: HubContext, now: float) -> Table:
        from shieldwall.arsenal.measure import measure, protected_of, rules_sighted

        protected = await protected_of(hub.ledger, hub.config.protections())
        rows = []
        for rule in await rules_sighted(hub.ledger):
            f = await measure(hub.ledger, rule, start=now - 30 * 86400, end=now,
                              protected=protected)
            rows.append((
                rule, str(f.detections_live), str(f.detections_shadow), str(f.targets),
                str(f.members), f"{f.corroboration:.0%}",
                "-" if f.earliness is None else f"{f.earliness:+.0f} s",
                str(f.protected_hits), str(f.lifted), str(f.disputes),
                "-" if f.cpu_per_million is None else f"{f.cpu_per_million:.2f} s",
            ))
        return Table(
            "Arsenal", "Each alliance rule version's measured effectiveness over the last 30 days,"
            " from the ledger (`shieldwall arsenal report RULE` gives the same figures).",
            ("rule", "live", "shadow", "targets", "members", "corroborated", "earliness",
             "protected hits", "lifted", "disputes", "CPU / M lines"),
            rows, "No rule has been sighted yet: `shieldwall arsenal propose PACK.toml` submits"
            " one as experimental (shadow); members report what it sees.",
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

