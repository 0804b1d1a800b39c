"""A detection: one address crossed one scenario's threshold."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_EVIDENCE = 5


def iso(ts: float) -> str:
    """ISO 8601 in UTC with a ``Z``; whole seconds unless the log had fractions."""
    dt = datetime.fromtimestamp(ts, UTC)
    spec = "seconds" if ts == int(ts) else "milliseconds"
    return dt.isoformat(timespec=spec).replace("+00:00", "Z")


@dataclass(slots=True)  # slots: the compiled detector reads and updates them per event
class Detection:
    """What a scenario found about one address (or IPv6 prefix).

    ``count`` starts at the number of events that crossed the threshold and
    keeps growing while the same address goes on within the scenario's quiet
    period (it is being handled by then); ``evidence`` is a bounded sample of
    the lines. ``local_block`` is how long this host blocks the address at once
    (``None``: it reports and waits for the alliance).
    """

    key: str
    scenario: str
    pack: str
    count: int
    first_seen: float
    last_seen: float
    local_block: float | None
    evidence: list[bytes] = field(default_factory=list)
    users: int = 0
    #: The rule version that fired (``scenario_version``, or an alliance rule's ``name@version``);
    #: empty until the member that runs the scenario names it.
    rule: str = ""

    def to_json(self) -> dict[str, Any]:
        """The replay/CLI JSON form (``ip`` is an address or a CIDR prefix)."""
        return {
            "ip": self.key,
            "scenario": self.scenario,
            "count": self.count,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "pack": self.pack,
            "local_block": self.local_block,
            "users": self.users,
            "evidence": [line.decode("utf-8", "replace") for line in self.evidence],
        }
