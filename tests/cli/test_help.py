"""Every command's --help carries a working example; the README documents the exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from shieldwall import errors
from shieldwall.cli.main import COMMANDS, cli

README = Path(__file__).resolve().parents[2] / "README.md"


def every_command() -> list[list[str]]:
    """The argv of each command and subcommand, as a user would type it."""
    ctx = click.Context(cli)
    found: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        found.append(path)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name])

    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        walk(command, [name])
    return found


@pytest.mark.parametrize("argv", every_command(), ids=" ".join)
def test_each_command_help_gives_an_example_that_uses_it(argv: list[str]) -> None:
    result = CliRunner().invoke(cli, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    example = result.output.partition("Example")[2]
    assert example, f"`shieldwall {' '.join(argv)} --help` has no Example"
    assert f"shieldwall {argv[0]}" in example


def test_the_top_level_help_lists_every_command_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "Example" in result.output
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", result.output, re.MULTILINE), name


def test_the_readme_table_gives_each_exit_code_its_meaning() -> None:
    table = dict(re.findall(r"^\|\s*(\d)\s*\|\s*([^|]+?)\s*\|", README.read_text(), re.MULTILINE))
    assert set(table) >= {"0", "1", "2", "3"}
    assert (errors.EXIT_OK, errors.EXIT_CHECK_FAILED, errors.EXIT_USAGE, errors.EXIT_ENVIRONMENT) == (
        0, 1, 2, 3)
    assert "check" in table["1"] and "usage" in table["2"] and "root" in table["3"]
