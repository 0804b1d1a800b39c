"""The demo's drill step: ``shieldwall drill run`` across the lab, and its report shown.

The drill names a documentation address (never a lab or real one): every member's
agent writes it into its own ``inet shieldwall`` table, reads it back and lifts it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import msgspec

from shieldwall.drills.report import DrillReport, render_report
from shieldwall.lab.alliance import SHIELDWALL, Alliance
from shieldwall.lab.runner import LabError

#: TEST-NET-3 (RFC 5737): not routed anywhere.
DEMO_TARGET = "203.0.113.77"


def drill_step(alliance: Alliance, say: Callable[[str], None],
               target: str = DEMO_TARGET) -> DrillReport:
    """Order a drill on every lab member as the hub's operator would; show the report."""
    say(f"drill: `shieldwall drill run` on the hub: every member detects {target} (drill lines"
        " through its real sshd pack), signals, receives the drill block over its stream,")
    say("       writes it into its nftables table, reads it back, and lifts it")
    result = subprocess.run(
        [*SHIELDWALL, "drill", "run", "--data", str(alliance.hub_dir), "--json",
         "--target", target], capture_output=True, text=True, timeout=200, check=False)
    try:
        report = msgspec.json.decode(result.stdout, type=DrillReport)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise LabError(f"the drill gave no report: {result.stderr.strip()[-500:]}") from None
    for line in render_report(report).splitlines():
        say("  " + line)
    return report
