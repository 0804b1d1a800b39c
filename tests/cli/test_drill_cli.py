"""``shieldwall drill``: the operator hears at once why an order cannot be given."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldwall.cli.drill import parse_limits
from shieldwall.cli.main import cli
from shieldwall.drills.order import StageLimit
from shieldwall.errors import ConfigError
from tests.integration.hub_harness import init_hub


def test_stage_limits_parse_and_bad_ones_are_refused() -> None:
    assert parse_limits(("push=2", "enforce=0.5")) == (StageLimit("push", 2.0),
                                                       StageLimit("enforce", 0.5))
    for bad in ("push", "push=0", "push=x", "warp=1", "push=1e9"):
        with pytest.raises(ConfigError):
            parse_limits((bad,))


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "8.8.8.8"], "outside the documentation ranges"),
    (["--target", "192.0.2.9", "--ttl", "301"], "--ttl must be between"),
    (["--target", "192.0.2.9", "--stages", "push,enforce"], "--stages must be a prefix"),
    (["--members", "ghost"], "not active members of this hub: ghost"),
    (["--target", "192.0.2.9"], "no active members to drill"),
])
def test_drill_run_refuses_a_bad_order_before_writing_it(tmp_path: Path, args: list[str],
                                                         message: str) -> None:
    config = init_hub(tmp_path / "hub")
    result = CliRunner().invoke(cli, ["drill", "run", "--data", str(config.data_dir), *args])
    assert result.exit_code != 0 and message in result.output, result.output
    report = CliRunner().invoke(cli, ["drill", "report", "--data", str(config.data_dir)])
    assert report.exit_code != 0 and "no drill has run yet" in report.output


def test_the_demo_drill_step_needs_the_netns_lab() -> None:
    result = CliRunner().invoke(cli, ["demo", "--simulate", "--drill"])
    assert result.exit_code != 0 and "--drill runs in the netns lab" in result.output
