"""``shieldwall join`` and ``shieldwall leave``: a host's membership of an alliance."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shieldwall.signals.member_state import DEFAULT_MEMBER_DIR

if TYPE_CHECKING:
    from shieldwall.signals.member_state import MemberState

data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MEMBER_DIR, show_default=True, help="The member's state folder.",
)


@click.command("join")
@click.argument("token", required=False)
@data_option
@click.option("--owns", multiple=True, metavar="CIDR",
              help="An address or range this host owns (never blocked by others); repeatable.")
@click.option("--name", default="", help="Member name, if the invite did not set one.")
@click.option("--keygen", "keygen_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Under a council: make the member key to be admitted, print its public key, stop.")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Under a council: the member key the council's admit act named.")
@click.option("--hub", "hub_addresses", multiple=True, metavar="HOST:PORT",
              help="With --key: the hub's address (repeat for replicas).")
@click.option("--pin", "pins", multiple=True, metavar="SHA256",
              help="With --key: the hub certificate's SHA-256 fingerprint (repeatable).")
@click.option("--charter", default="", metavar="SHA256",
              help="With --key: the digest of the council's founding charter.")
def join(token: str | None, data_dir: Path, owns: tuple[str, ...], name: str,
         keygen_file: Path | None, key_file: Path | None, hub_addresses: tuple[str, ...],
         pins: tuple[str, ...], charter: str) -> None:
    """Join a hub with a token from `shieldwall hub invite`, or, under a council, as the
    member the council admitted by vote.

    With a token: creates this member's Ed25519 key, pins the hub's certificate by the
    fingerprint in the token, and registers the ranges this host owns.

    Under a council there is no token: make a key with --keygen and give its public key
    to a councillor (`shieldwall council propose admit`); once the act is published, join
    with that key, the hub's address and certificate fingerprint and the founding
    charter's digest. The hub's answer is verified against that charter.

    \b
    Example:
      shieldwall join swj1.eyJodWIiOi... --owns 198.51.100.7 --owns 2001:db8:5::/48
      shieldwall join --keygen member.key
      shieldwall join --key member.key --hub hub.example:8443 --pin 5d1c... --charter 9a0e...
    """
    from shieldwall.addresses import parse_network
    from shieldwall.errors import ConfigError

    if keygen_file is not None:
        from shieldwall.signals.admitted import make_member_key

        if token or key_file:
            raise click.UsageError("--keygen makes a key and stops: give it alone")
        public = make_member_key(keygen_file)
        click.echo(public)
        click.echo(f"member key written to {keygen_file}; give the public key above to a"
                   " councillor: shieldwall council propose admit ./council --key COUNCILLOR.key"
                   f" --member NAME --public-key {public}", err=True)
        return
    if key_file is not None:
        if token:
            raise click.UsageError("give a join token or --key, not both")
        if not (hub_addresses and pins and charter):
            raise click.UsageError("--key needs --hub, --pin and --charter (a councillor has them)")
        if owns or name:
            raise ConfigError("an admitted member's name and owned ranges are the ones the council's"
                              " act gives (`council propose admit --member NAME --owns CIDR`);"
                              " --owns and --name are for tokens")
        state = asyncio.run(_join_admitted(key_file, hub_addresses, pins, charter, data_dir))
    elif token:
        from shieldwall.signals.client import join as do_join

        for text in owns:
            parse_network(text)
        state = asyncio.run(do_join(token, data_dir, owns, name))
    else:
        raise click.UsageError("give a join token, or --key (admitted by the council), or --keygen")
    click.echo(f"joined the hub at {', '.join(state.addresses)} as {state.name}"
               f" (key {state.key_id})")
    if state.missing_pins():
        click.echo(f"{len(state.missing_pins())} replica certificate(s) not pinned yet (replica"
                   " down): the agent pins them when those replicas first answer")


async def _join_admitted(key_file: Path, hub_addresses: tuple[str, ...], pins: tuple[str, ...],
                         charter: str, data_dir: Path) -> MemberState:
    from shieldwall.errors import GovernanceError, HubError
    from shieldwall.signals.admitted import join_admitted, load_member_key

    try:
        return await join_admitted(load_member_key(key_file), hub_addresses, pins,
                                   charter.lower(), data_dir)
    except GovernanceError as exc:
        raise HubError(f"the hub's answer is refused, nothing was written ({exc.reason}): {exc}") from None


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
