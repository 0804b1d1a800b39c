"""``shieldwall status``: one line per check, --json, exit 0 only when all are ok."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from shieldwall.cli.main import cli


def agent_toml(tmp_path: Path, extra: str = "") -> Path:
    log = tmp_path / "auth.log"
    log.write_text("x\n")
    os.utime(log, (1_000_000_000, 1_000_000_000))  # written long ago
    (tmp_path / "member").mkdir(exist_ok=True)
    path = tmp_path / "agent.toml"
    path.write_text(f"""
[agent]
data_dir = "{tmp_path / 'member'}"
[[sources]]
kind = "file"
path = "{log}"
pack = "sshd"
[enforce]
backend = "none"
{extra}
""")
    return path


def test_status_prints_one_line_per_check_and_exits_1_when_not_ready(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["status", "--config", str(agent_toml(tmp_path))])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines[:8]] == [f"R{n}" for n in range(1, 9)]
    assert lines[0].split()[1] == "FAILING" and "shieldwall join" in lines[0]
    assert "R4 DEGRADED" in result.output and "last line" in lines[3]
    assert lines[-1].startswith("member: failing")


def test_status_json_carries_every_check(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["status", "--json", "--config", str(agent_toml(tmp_path))])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["ready"] is False and document["state"] == "failing"
    assert [c["code"] for c in document["checks"]] == [f"R{n}" for n in range(1, 9)]
    assert all(c["reason"] for c in document["checks"])


def test_readiness_thresholds_come_from_agent_toml(tmp_path: Path) -> None:
    # A gap default longer than the file's age: the old log now counts as alive.
    toml = agent_toml(tmp_path, '[readiness]\nstale_default = "100000d"\n')
    document = json.loads(CliRunner().invoke(cli, ["status", "--json", "--config", str(toml)]).output)
    assert document["checks"][3]["state"] == "ok"


def test_a_misspelt_readiness_key_is_a_usage_error(tmp_path: Path) -> None:
    toml = agent_toml(tmp_path, "[readiness]\nlag_degrade = 5\n")
    result = CliRunner().invoke(cli, ["status", "--config", str(toml)])
    assert result.exit_code == 2 and "lag_degraded" in result.output


def test_status_says_how_the_hub_last_saw_this_member_and_whether_it_counts(
    tmp_path: Path,
) -> None:
    from shieldwall.readiness.alliance_cache import save_answer
    from shieldwall.readiness.heartbeat import HeartbeatAnswer

    config = agent_toml(tmp_path)
    save_answer(tmp_path / "member", HeartbeatAnswer(member="alpha", at=1.0, head=0,
                                                     state="failing", counts=False))
    result = CliRunner().invoke(cli, ["status", "--config", str(config)])
    assert result.output.splitlines()[-1].startswith("hub: saw this member failing")
    assert "do not count toward quorums" in result.output
