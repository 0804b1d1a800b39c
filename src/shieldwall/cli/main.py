"""Entry point of the ``shieldwall`` command.

Subcommands are listed in :data:`COMMANDS` as ``name -> "module:attribute"`` and
imported only when used, so ``shieldwall --help`` stays fast and a broken optional
dependency of one command cannot break the others.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from shieldwall import __version__
from shieldwall.errors import ShieldwallError

#: Every subcommand, in the order ``--help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("shieldwall.cli.up:up", "Start a hub and an agent on this host (embedded default)."),
    "demo": ("shieldwall.cli.demo:demo", "Watch an alliance answer an attack (netns lab)."),
    "lab": ("shieldwall.cli.lab:lab", "Simulations through the real policy (lab trust)."),
    "agent": ("shieldwall.cli.agent:agent", "Run the member's agent (detect, signal, enforce)."),
    "replay": ("shieldwall.cli.replay:replay", "Detect attacks in whole log files."),
    "patterns": ("shieldwall.cli.patterns:patterns", "Inspect and try pattern packs."),
    "hub": ("shieldwall.cli.hub:hub", "Run the alliance hub: init, serve, invite, members..."),
    "join": ("shieldwall.cli.member:join", "Join a hub with a token from `hub invite`."),
    "leave": ("shieldwall.cli.member:leave", "Leave the alliance (revokes this member's key)."),
    "hubs": ("shieldwall.cli.member:hubs", "The hub addresses this member uses (replicas)."),
    "ban": ("shieldwall.cli.blocks:ban", "Block an address or range now, for a while."),
    "unban": ("shieldwall.cli.blocks:unban", "Lift a block."),
    "blocks": ("shieldwall.cli.blocks:blocks", "List this member's active blocks."),
    "status": ("shieldwall.cli.status:status", "This member's readiness: checks R1-R8."),
    "import": ("shieldwall.cli.blocks:import_command", "Import a public blocklist."),
    "enforce": ("shieldwall.cli.enforce:enforce", "Apply blocks to nftables; status; uninstall."),
    "bouncer": ("shieldwall.cli.bouncer:bouncer", "CrowdSec bouncers enforcing this member's blocks."),
    "crowdsec": ("shieldwall.cli.crowdsec:crowdsec", "CrowdSec log processors as this member's detectors."),
    "council": ("shieldwall.cli.council:council", "The council: charter, proposals, votes, chair, history."),
    "ui": ("shieldwall.cli.ui:ui", "The hub's dashboard: an operator's login link."),
    "drill": ("shieldwall.cli.drill:drill", "Drills: prove detect -> block on every member (hub)."),
    "arsenal": ("shieldwall.cli.arsenal:arsenal", "Alliance rules: propose, measure, promote."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, _, attr = entry[0].partition(":")
        # Importing a command's modules would run the cyclic collector a few dozen times
        # over objects that live as long as the process (~20 ms per start): collect none
        # while importing, then set them aside (gc.freeze) so that no later collection
        # walks them again.
        collecting = gc.isenabled()
        gc.disable()
        try:
            command = getattr(importlib.import_module(module_name), attr)
        finally:
            gc.freeze()
            if collecting:
                gc.enable()
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        # The one place a Shieldwall error ends a command: "shieldwall X: error: ..." and
        # the error's exit code, for every subcommand, whether or not it catches its own.
        try:
            return super().invoke(ctx)
        except ShieldwallError as exc:
            fail(ctx.invoked_subcommand or "", exc)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from COMMANDS so that --help imports nothing.
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shieldwall")
def cli() -> None:
    """Shieldwall: collective defense for servers.

    Each member's agent reads its own logs, detects attacks and signals them to
    the alliance hub; the hub's decisions are pushed back and every member blocks
    the attacker. An attack on one is answered by all.

    \b
    Example:
      shieldwall replay /var/log/auth.log --json
    """


def fail(command: str, exc: ShieldwallError) -> NoReturn:
    """The one way a command ends on an error: one line naming it, the error's exit code."""
    prefix = f"shieldwall {command}" if command else "shieldwall"
    click.echo(f"{prefix}: error: {exc}", err=True)
    sys.exit(exc.exit_code)


@contextmanager
def command_errors(command: str) -> Iterator[None]:
    """Inside a subcommand: a Shieldwall error becomes one line naming it, and its exit code."""
    try:
        yield
    except ShieldwallError as exc:
        fail(command, exc)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; a Shieldwall error no command caught ends it the same way."""
    try:
        return cli.main(args=argv, prog_name="shieldwall", standalone_mode=True)
    except ShieldwallError as exc:
        fail("", exc)


if __name__ == "__main__":
    main()
