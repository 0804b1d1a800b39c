"""One round of probes over a member's configuration, on files the test creates."""

from __future__ import annotations

import os
from pathlib import Path

from shieldwall.agent.config import AgentConfig
from shieldwall.readiness.evaluate import evaluate
from shieldwall.readiness.observe import observe
from shieldwall.readiness.probe_state import load_gaps
from shieldwall.sources import SourceSpec

NOW = 1_800_000_000.0


def config(tmp_path: Path, log: Path) -> AgentConfig:
    return AgentConfig(data_dir=tmp_path / "member", backend="none",
                       sources=(SourceSpec(kind="file", pack="sshd", path=str(log)),))


async def test_a_member_that_never_joined_is_judged_on_what_it_has(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("x\n")
    os.utime(log, (NOW - 60, NOW - 60))
    (tmp_path / "member").mkdir()
    seen = await observe(config(tmp_path, log), clock=lambda: NOW)
    states = {c.code: c.state for c in evaluate(seen, NOW).checks}
    assert states == {"R1": "failing", "R2": "degraded", "R3": "degraded", "R4": "ok",
                      "R5": "degraded", "R6": "degraded", "R7": "failing", "R8": "degraded"}


async def test_each_round_feeds_the_sources_gap_estimate(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("x\n")
    (tmp_path / "member").mkdir()
    cfg = config(tmp_path, log)
    for written in (NOW - 300, NOW - 200, NOW - 100):
        os.utime(log, (written, written))
        await observe(cfg, clock=lambda: NOW)
    estimate = load_gaps(cfg.data_dir)[f"file:{log}"]
    assert (estimate.typical, estimate.samples, estimate.last_seen) == (100.0, 2, NOW - 100)
