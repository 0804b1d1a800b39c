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
    # The table right under "**Exit codes**" (other tables in the README have digit columns).
    section = README.read_text().partition("**Exit codes**")[2].split("\n\n", 2)[:2]
    table = dict(re.findall(r"^\|\s*(\d)\s*\|\s*([^|]+?)\s*\|", "\n\n".join(section), re.MULTILINE))
    assert set(table) >= {"0", "1", "2", "3"}
    assert (errors.EXIT_OK, errors.EXIT_CHECK_FAILED, errors.EXIT_USAGE, errors.EXIT_ENVIRONMENT) == (
        0, 1, 2, 3)
    assert "check" in table["1"] and "usage" in table["2"] and "root" in table["3"]


def test_a_hub_that_does_not_answer_is_an_environment_error_exit_3(tmp_path: Path) -> None:
    import socket
    import time

    from shieldwall.hub.members import JoinToken, encode_token

    with socket.socket() as sock:  # a port nothing listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = encode_token(JoinToken(hub=f"127.0.0.1:{port}", fingerprint="ab" * 32,
                                   secret="s" * 43, expires=time.time() + 600, name="web1"))
    result = CliRunner().invoke(cli, ["join", token, "--data", str(tmp_path / "member")])
    assert result.exit_code == errors.EXIT_ENVIRONMENT, result.output
    assert "cannot reach the hub" in result.output
