"""The systemd units in deploy/ run commands the CLI accepts, on loopback."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest

from shieldwall.cli.main import cli

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
UNITS = sorted(DEPLOY.glob("shieldwall-crowdsec-*.service"))


def exec_start(unit: Path) -> list[str]:
    line = next(x for x in unit.read_text().splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_both_directions_have_a_unit() -> None:
    assert [u.name for u in UNITS] == ["shieldwall-crowdsec-bouncers.service",
                                       "shieldwall-crowdsec-gateway.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_unit_runs_a_command_the_cli_parses_and_listens_on_loopback(unit: Path) -> None:
    argv = exec_start(unit)
    assert argv[0].endswith("/shieldwall")
    ctx = click.Context(cli)
    command: click.Command | None = cli
    args = argv[1:]
    while isinstance(command, click.Group):
        command = command.get_command(ctx, args[0])
        args = args[1:]
    assert command is not None
    parsed = command.make_context(argv[1], list(args))  # raises on an unknown option
    assert str(parsed.params["listen"]).startswith("127.0.0.1:")
    assert "Restart=always" in unit.read_text()
