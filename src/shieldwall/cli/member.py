"""``shieldwall join`` and ``shieldwall leave``: a host's membership of an alliance."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from shieldwall.signals.member_state import DEFAULT_MEMBER_DIR

data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MEMBER_DIR, show_default=True, help="The member's state folder.",
)


@click.command("join")
@click.argument("token")
@data_option
@click.option("--owns", multiple=True, metavar="CIDR",
              help="An address or range this host owns (never blocked by others); repeatable.")
@click.option("--name", default="", help="Member name, if the invite did not set one.")
def join(token: str, data_dir: Path, owns: tuple[str, ...], name: str) -> None:
    """Join a hub with a token from `shieldwall hub invite`.

    Creates this member's Ed25519 key, pins the hub's certificate by the
    fingerprint in the token, and registers the ranges this host owns.

    \b
    Example:
      shieldwall join swj1.eyJodWIiOi... --owns 198.51.100.7 --owns 2001:db8:5::/48
    """
    from shieldwall.addresses import parse_network
    from shieldwall.signals.client import join as do_join

    for text in owns:
        parse_network(text)
    state = asyncio.run(do_join(token, data_dir, owns, name))
    click.echo(f"joined the hub at {', '.join(state.addresses)} as {state.name}"
               f" (key {state.key_id})")
    if state.missing_pins():
        click.echo(f"{len(state.missing_pins())} replica certificate(s) not pinned yet (replica"
                   " down): the agent pins them when those replicas first answer")


@click.command("leave")
@data_option
def leave(data_dir: Path) -> None:
    """Leave the alliance: the hub revokes this member's key.

    \b
    Example:
      shieldwall leave --data /var/lib/shieldwall/member
    """
    from shieldwall.signals.client import HubClient
    from shieldwall.signals.member_state import load_member_state

    state = load_member_state(data_dir)

    async def run() -> None:
        async with HubClient(state) as client:
            await client.leave()

    asyncio.run(run())
    click.echo(f"{state.name} left the hub at {state.hub}")


@click.command("hubs")
@data_option
@click.option("--add", multiple=True, metavar="HOST:PORT",
              help="Another address of the same hub (a replica); repeatable.")
@click.option("--remove", multiple=True, metavar="HOST:PORT",
              help="An address to stop using; repeatable.")
def hubs(data_dir: Path, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Show, or change, the hub addresses this member uses (replicas, in order).

    An added address must present a certificate this member pinned at join (the
    token's fingerprints): the address of a stranger is refused. Restart the agent
    to use the new list.

    \b
    Example:
      shieldwall hubs
      shieldwall hubs --add 10.0.0.2:8443 --add 10.0.0.3:8443
    """
    from shieldwall.signals.member_state import load_member_state, save_member_state
    from shieldwall.signals.pinning import change_addresses

    state = load_member_state(data_dir)
    if add or remove:
        state = change_addresses(state, add, remove)
        save_member_state(state)
    for address in state.addresses:
        click.echo(address)
