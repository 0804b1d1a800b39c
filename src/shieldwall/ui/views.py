"""What the dashboard's pages show, computed from ledger records and ``now`` (pure).

Handlers read the ledger and hand the records here; templates only lay out what
these functions return, so every figure on a page is tested without a browser.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shieldwall.addresses import canonical_target
from shieldwall.decisions.decision import Decision
from shieldwall.errors import ShieldwallError
from shieldwall.hub.ledger.storage import MemberRecord

#: Rows on one page of decisions (the log itself may hold millions).
PAGE_ROWS = 100
#: A member unseen for this long is shown as silent.
SILENT_AFTER = 300.0


@dataclass(frozen=True, slots=True)
class Search:
    """A decisions query from the page's form: an address or CIDR, a scenario, a member."""

    target: str = ""
    scenario: str = ""
    member: str = ""
    before: int = 0

    @property
    def empty(self) -> bool:
        """True when nothing filters the log."""
        return not (self.target or self.scenario or self.member)


def parse_search(params: dict[str, str]) -> tuple[Search, str]:
    """The search the query string asks for, and a message for a bad field ("" if none)."""
    target = params.get("q", "").strip()
    problem = ""
    if target:
        try:
            target = canonical_target(target)
        except (ShieldwallError, ValueError) as exc:
            problem, target = f"not an address or CIDR: {exc}", ""
    try:
        before = max(0, int(params.get("before", "0") or 0))
    except ValueError:
        before, problem = 0, problem or "before: not a cursor"
    return Search(
        target=target, scenario=params.get("scenario", "").strip()[:128],
        member=params.get("member", "").strip()[:128], before=before,
    ), problem


@dataclass(frozen=True, slots=True)
class DecisionRow:
    """One line of the decisions table."""

    cursor: int
    action: str
    target: str
    scenario: str
    origin: str
    created: str
    remaining: str
    policy: str
    rule: str
    drill: bool


def clock_text(when: float) -> str:
    """UTC wall time as the tables show it."""
    if when <= 0:
        return "-"
    return datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def span_text(seconds: float) -> str:
    """A duration the way people read it: 45s, 12m, 3h, 2d."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def decision_row(decision: Decision, now: float) -> DecisionRow:
    """The table row of one decision at ``now``."""
    if decision.action == "lift":
        remaining = "lifted"
    elif decision.until <= now:
        remaining = "expired"
    else:
        remaining = span_text(decision.until - now)
    return DecisionRow(
        cursor=decision.cursor, action=decision.action, target=decision.target,
        scenario=decision.scenario, origin=decision.origin, created=clock_text(decision.created),
        remaining=remaining, policy=decision.policy[:12], rule=decision.rule,
        drill=bool(decision.drill),
    )


def older_page(rows: Sequence[Decision], limit: int = PAGE_ROWS) -> int:
    """The ``before`` cursor of the next (older) page, 0 when this is the last one."""
    return rows[-1].cursor if len(rows) == limit and rows[-1].cursor > 1 else 0


@dataclass(frozen=True, slots=True)
class MemberRow:
    """One member on the members page."""

    name: str
    active: bool
    state: str
    last_seen: str
    lag: int
    signals: int
    rejected: int
    owns: str


def member_rows(
    members: Iterable[MemberRecord], head: int, now: float,
    readiness: dict[str, str] | None = None,
) -> list[MemberRow]:
    """Members in name order with their state: the roster's when it has one, else
    what the ledger shows (expelled, silent, streaming)."""
    readiness = readiness or {}
    rows = []
    for m in sorted(members, key=lambda m: m.name):
        if not m.active:
            state = "expelled" if m.revoked_why == "expelled" else (m.revoked_why or "revoked")
        elif m.name in readiness:
            state = readiness[m.name]
        elif m.last_seen and now - m.last_seen > SILENT_AFTER:
            state = "silent"
        else:
            state = "unknown" if not m.last_seen else "seen"
        rows.append(MemberRow(
            name=m.name, active=m.active, state=state, last_seen=clock_text(m.last_seen),
            lag=max(0, head - m.cursor), signals=m.signals, rejected=m.rejected,
            owns=", ".join(m.owns),
        ))
    return rows


@dataclass(frozen=True, slots=True)
class Tally:
    """A label and its count, for the top-N tables and bar charts."""

    label: str
    count: int


def top(values: Iterable[str], n: int = 10) -> list[Tally]:
    """The ``n`` most frequent values, most frequent first (ties by label)."""
    counts = Counter(v for v in values if v)
    return [Tally(k, c) for k, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def attacks_by_hour(
    decisions: Iterable[Decision], now: float, hours: int = 24
) -> tuple[list[str], dict[str, list[int]]]:
    """Blocks per hour and scenario over the last ``hours`` (oldest hour first):
    (hour labels, scenario -> counts). Lifts and drills are not attacks."""
    start = (int(now) // 3600 - hours + 1) * 3600
    labels = [
        datetime.datetime.fromtimestamp(start + i * 3600, datetime.UTC).strftime("%H:00")
        for i in range(hours)
    ]
    series: dict[str, list[int]] = {}
    for d in decisions:
        if d.action != "block" or d.drill or d.created < start:
            continue
        slot = int(d.created - start) // 3600
        if 0 <= slot < hours:
            series.setdefault(d.scenario or "(none)", [0] * hours)[slot] += 1
    return labels, dict(sorted(series.items()))
