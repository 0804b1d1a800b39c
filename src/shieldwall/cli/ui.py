"""``shieldwall ui login``: a one-time dashboard login link for an operator member."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
import msgspec

from shieldwall.cli.member import data_option


@click.group("ui")
def ui() -> None:
    """The hub's dashboard (served by `shieldwall hub serve` under /ui/).

    \b
    Example:
      shieldwall ui login --data /var/lib/shieldwall/member
    """


@ui.command("login")
@data_option
def login(data_dir: Path) -> None:
    """Print a one-time link that opens an operator session on the dashboard.

    The member must be listed in the hub's `operators` (hub.toml). The link works
    once, within 5 minutes, from an address the dashboard allows (loopback unless
    hub.toml sets `ui_allow`); the session then lasts 8 hours.

    \b
    Example:
      shieldwall ui login --data /var/lib/shieldwall/member
    """
    from shieldwall.signals.client import HubClient
    from shieldwall.signals.member_state import load_member_state
    from shieldwall.ui.actions import LoginLink

    state = load_member_state(data_dir)

    async def run() -> tuple[str, LoginLink]:
        async with HubClient(state) as client:
            response = await client.request("POST", "/ui/session", b"{}")
            return client.hub, msgspec.json.decode(response.content, type=LoginLink)

    hub, link = asyncio.run(run())
    click.echo(f"https://{hub}{link.path}")
    click.echo(f"(for operator {link.operator}; open it within 5 minutes, once)", err=True)
