"""The hub's counters, rendered in the Prometheus text format at ``/metrics``.

Counters are per process (each replica reports its own); everything here is an
aggregate, so scraping it tells nobody what any one member sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from shieldwall.signals.envelope import REJECTION_REASONS


@dataclass
class HubMetrics:
    """Counters the API and the writer increment."""

    signals_accepted: int = 0
    envelopes_accepted: int = 0
    envelopes_duplicate: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    committed_envelopes: int = 0
    http_errors: Counter[int] = field(default_factory=Counter)
    #: Requests refused by a per-member quota, by quota ("signals", "streams").
    quota: Counter[str] = field(default_factory=Counter)
    #: Connections closed because their request headers did not arrive in time.
    header_timeouts: int = 0
    #: Request bodies refused because all bodies being read held the budget.
    body_budget_refused: int = 0

    def render(self, connected: int, lag: int, head: int, extra: Callable[[], str] | None = None
               ) -> str:
        """The text exposition of every metric."""
        lines = [
            "# HELP shieldwall_signals_accepted_total Signals applied from accepted envelopes.",
            "# TYPE shieldwall_signals_accepted_total counter",
            f"shieldwall_signals_accepted_total {self.signals_accepted}",
            "# HELP shieldwall_envelopes_accepted_total Envelopes applied.",
            "# TYPE shieldwall_envelopes_accepted_total counter",
            f"shieldwall_envelopes_accepted_total {self.envelopes_accepted}",
            "# HELP shieldwall_envelopes_duplicate_total Byte-identical retries acknowledged.",
            "# TYPE shieldwall_envelopes_duplicate_total counter",
            f"shieldwall_envelopes_duplicate_total {self.envelopes_duplicate}",
            "# HELP shieldwall_signals_rejected_total Envelopes or requests rejected, by reason.",
            "# TYPE shieldwall_signals_rejected_total counter",
        ]
        reasons = sorted({*REJECTION_REASONS, "unsigned", "too-large", *self.rejected})
        lines += [
            f'shieldwall_signals_rejected_total{{reason="{r}"}} {self.rejected[r]}' for r in reasons
        ]
        lines += [
            "# HELP shieldwall_decisions_total Decisions appended to the log, by action.",
            "# TYPE shieldwall_decisions_total counter",
            *(
                f'shieldwall_decisions_total{{action="{a}"}} {self.decisions[a]}'
                for a in ("block", "lift")
            ),
            "# HELP shieldwall_ledger_commits_total Group commits (one fsync each).",
            "# TYPE shieldwall_ledger_commits_total counter",
            f"shieldwall_ledger_commits_total {self.commits}",
            "# HELP shieldwall_ledger_committed_envelopes_total Envelopes made durable.",
            "# TYPE shieldwall_ledger_committed_envelopes_total counter",
            f"shieldwall_ledger_committed_envelopes_total {self.committed_envelopes}",
            "# HELP shieldwall_members_connected Decision streams open now.",
            "# TYPE shieldwall_members_connected gauge",
            f"shieldwall_members_connected {connected}",
            "# HELP shieldwall_stream_lag_decisions Decisions the slowest open stream has yet"
            " to send.",
            "# TYPE shieldwall_stream_lag_decisions gauge",
            f"shieldwall_stream_lag_decisions {lag}",
            "# HELP shieldwall_decision_head Highest cursor in the decision log.",
            "# TYPE shieldwall_decision_head gauge",
            f"shieldwall_decision_head {head}",
            "# HELP shieldwall_quota_refused_total Requests refused by a per-member quota.",
            "# TYPE shieldwall_quota_refused_total counter",
            *(
                f'shieldwall_quota_refused_total{{quota="{q}"}} {self.quota[q]}'
                for q in ("signals", "streams")
            ),
            "# HELP shieldwall_http_header_timeouts_total Connections closed for slow headers.",
            "# TYPE shieldwall_http_header_timeouts_total counter",
            f"shieldwall_http_header_timeouts_total {self.header_timeouts}",
            "# HELP shieldwall_http_errors_total Error responses, by status.",
            "# TYPE shieldwall_http_errors_total counter",
            *(
                f'shieldwall_http_errors_total{{status="{s}"}} {n}'
                for s, n in sorted(self.http_errors.items())
            ),
        ]
        text = "\n".join(lines) + "\n"
        if extra is not None:
            text += extra()
        return text
