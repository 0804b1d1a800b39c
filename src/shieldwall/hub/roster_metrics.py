"""The roster as Prometheus gauges (appended to the hub's ``/metrics``). Pure.

Per member: ready (1/0), counts toward quorums (1/0), each check's state (0 ok,
1 degraded, 2 failing), seconds since its last heartbeat and its clock skew; per
state, how many members are in it; heartbeats accepted and refused by reason. No
reasons are exported (they name paths and addresses); ``hub readiness`` shows them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from shieldwall.hub.roster import Entry, counts

_LEVEL = {"ok": 0, "degraded": 1, "failing": 2}
_STATES = ("ok", "degraded", "failing", "unknown")


def label(value: str) -> str:
    """A label value escaped as the text format wants (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_roster(roster: Mapping[str, Entry], now: float, grace: float, accepted: int,
                  refused: Counter[str]) -> str:
    """The text exposition of the roster's gauges and the heartbeat counters."""
    lines = [
        "# HELP shieldwall_heartbeats_total Member heartbeats accepted.",
        "# TYPE shieldwall_heartbeats_total counter",
        f"shieldwall_heartbeats_total {accepted}",
        "# HELP shieldwall_heartbeats_refused_total Member heartbeats refused, by reason.",
        "# TYPE shieldwall_heartbeats_refused_total counter",
        *(f'shieldwall_heartbeats_refused_total{{reason="{label(r)}"}} {n}'
          for r, n in sorted(refused.items())),
        "# HELP shieldwall_members_readiness Members by readiness state.",
        "# TYPE shieldwall_members_readiness gauge",
    ]
    by_state: Counter[str] = Counter(e.state for e in roster.values())
    lines += [f'shieldwall_members_readiness{{state="{s}"}} {by_state[s]}' for s in _STATES]
    ready, counted, checks, age, skew = [], [], [], [], []
    for name, entry in sorted(roster.items()):
        who = f'member="{label(name)}"'
        ready.append(f"shieldwall_member_ready{{{who}}} {int(entry.state == 'ok')}")
        counted.append(f"shieldwall_member_counts{{{who}}} {int(counts(entry, now, grace))}")
        checks += [f'shieldwall_member_check{{{who},check="{label(c.code)}"}} {_LEVEL[c.state]}'
                   for c in entry.checks]
        if entry.seen is not None:
            age.append(f"shieldwall_member_heartbeat_age_seconds{{{who}}} {now - entry.seen:.3f}")
        if entry.skew is not None:
            skew.append(f"shieldwall_member_clock_skew_seconds{{{who}}} {entry.skew:.3f}")
    lines += [
        "# HELP shieldwall_member_ready 1 when every check the member reported is ok.",
        "# TYPE shieldwall_member_ready gauge", *ready,
        "# HELP shieldwall_member_counts 1 when the member's reports count toward quorums.",
        "# TYPE shieldwall_member_counts gauge", *counted,
        "# HELP shieldwall_member_check A member's check: 0 ok, 1 degraded, 2 failing.",
        "# TYPE shieldwall_member_check gauge", *checks,
        "# HELP shieldwall_member_heartbeat_age_seconds Seconds since the member's last"
        " heartbeat.",
        "# TYPE shieldwall_member_heartbeat_age_seconds gauge", *age,
        "# HELP shieldwall_member_clock_skew_seconds The member's clock minus the hub's.",
        "# TYPE shieldwall_member_clock_skew_seconds gauge", *skew,
    ]
    return "\n".join(lines) + "\n"
