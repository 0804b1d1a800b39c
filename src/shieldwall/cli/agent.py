"""``shieldwall agent``: run the member's agent."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from shieldwall.cli.main import command_errors


@click.group("agent")
def agent() -> None:
    """The member's agent: read logs, detect, signal the hub, enforce decisions.

    \b
    Example:
      shieldwall agent run --config /etc/shieldwall/agent.toml
    """


@agent.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("/etc/shieldwall/agent.toml"), show_default=True,
              help="The agent's TOML configuration (see deploy/agent.toml).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="How to print what happens (json: one object per line).")
def run(config_path: Path, log_format: str) -> None:
    """Run the agent in the foreground until SIGINT/SIGTERM.

    On start it makes the firewall match its saved state in one transaction,
    catches up on the hub's decisions from its saved cursor, and resumes every
    log where it left off. When the hub is unreachable it keeps detecting and
    enforcing its own detections and queues its signals on disk.

    \b
    Example:
      shieldwall agent run --config deploy/agent.toml --log-format json
    """
    from shieldwall.agent.config import load_agent_config
    from shieldwall.agent.runtime import AgentRuntime, json_notes, text_notes

    with command_errors("agent"):
        config = load_agent_config(config_path)
        notes = json_notes() if log_format == "json" else text_notes()
        runtime = AgentRuntime(config, notes=notes)
    asyncio.run(_until_signalled(runtime.run()))


@agent.command("check")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("/etc/shieldwall/agent.toml"), show_default=True)
def check(config_path: Path) -> None:
    """Validate a configuration file and print what it would run.

    \b
    Example:
      shieldwall agent check --config deploy/agent.toml
    """
    from shieldwall.agent.config import load_agent_config
    from shieldwall.detection.scenario import load_scenarios
    from shieldwall.events.packs import load_pack

    with command_errors("agent"):
        config = load_agent_config(config_path)
        for source in config.sources:
            load_pack(source.pack)
        load_scenarios(config.scenarios)
    click.echo(f"data dir: {config.data_dir}")
    for source in config.sources:
        click.echo(f"source:   {source.label} (pack {source.pack})")
    click.echo(f"enforcer: {config.backend}{' (dry run)' if config.dry_run else ''}")
    click.echo("configuration OK")


async def _until_signalled(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` until it ends or SIGINT/SIGTERM arrives, then cancel it cleanly."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
