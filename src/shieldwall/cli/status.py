"""``shieldwall status``: this member's readiness, checks R1-R8, once.

The probes (``shieldwall.readiness.observe``) read the member's files, the kernel
table and the hub; the pure evaluation judges them against ``agent.toml``'s
``[readiness]`` thresholds. One line per check, or ``--json``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import click

from shieldwall.errors import EXIT_CHECK_FAILED, EXIT_OK
from shieldwall.readiness.heartbeat import HeartbeatAnswer
from shieldwall.readiness.verdict import Verdict, document

_MARK = {"ok": "ok", "degraded": "DEGRADED", "failing": "FAILING"}


def render(verdict: Verdict, answer: HeartbeatAnswer | None = None) -> str:
    """The human report: one line per check, the member's overall state, and how the
    hub last saw it (``answer``: the agent's last heartbeat answer)."""
    lines = [f"{c.code} {_MARK[c.state]:<8} {c.name:<25} {c.reason}" for c in verdict.checks]
    bad = sum(1 for c in verdict.checks if c.state != "ok")
    summary = "ready" if verdict.ready else f"{verdict.state} ({bad} of {len(verdict.checks)}" \
                                            " checks not ok)"
    lines.append(f"member: {summary}")
    if answer is not None:
        counted = "" if answer.counts else (": its reports do not count toward quorums now"
                                            " (failing for longer than the hub's"
                                            " readiness_grace)")
        lines.append(f"hub: saw this member {answer.state} at its last heartbeat{counted}")
    return "\n".join(lines)


def as_document(verdict: Verdict) -> bytes:
    """The ``--json`` document: overall state, readiness, time and every check."""
    return document(verdict)


@click.command("status")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("/etc/shieldwall/agent.toml"), show_default=True,
              help="The agent's TOML configuration (see deploy/agent.toml).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--full", is_flag=True,
              help="Compare every block with the table, not a sample (slower on large sets).")
def status(config_path: Path, as_json: bool, full: bool) -> None:
    """Check this member's readiness: hub link, stream lag, enforcer, sources,
    packs, clock, outbox and last drill (R1-R8).

    Each check is ok, degraded or failing, with a reason to act on. Exits 0
    when every check is ok, 1 when any is degraded or failing.

    \b
    Example:
      sudo shieldwall status --config /etc/shieldwall/agent.toml
      shieldwall status --json --full
    """
    from shieldwall.agent.config import load_agent_config
    from shieldwall.readiness.evaluate import evaluate
    from shieldwall.readiness.observe import observe

    config = load_agent_config(config_path)

    async def judge() -> Verdict:
        # Only the small verdict leaves the loop: asyncio.run's clean-up may repr its
        # task (and so its result), which for an observation of 100,000 blocks took 4 s.
        seen = await observe(config, config.readiness)
        now = time.time()
        return evaluate(seen, now, config.readiness, full=full, seed=int(now * 1000))

    verdict = asyncio.run(judge())
    if as_json:
        sys.stdout.buffer.write(as_document(verdict) + b"\n")
        sys.stdout.flush()
    else:
        from shieldwall.readiness.alliance_cache import load_answer

        click.echo(render(verdict, load_answer(config.data_dir)))
    sys.exit(EXIT_OK if verdict.ready else EXIT_CHECK_FAILED)
