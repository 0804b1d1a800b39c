"""``shieldwall bouncer``: CrowdSec bouncers enforcing this member's blocks.

Like ``cscli bouncers``: ``add`` prints a key once (only its SHA-512 is kept),
``list`` and ``delete``. ``serve`` runs the bouncer API; ``setup firewall``
points Debian's crowdsec-firewall-bouncer at it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

import click

from shieldwall.cli.enforce import data_dir_option
from shieldwall.cli.main import command_errors
from shieldwall.enforcers.store import data_dir as _data_dir
from shieldwall.errors import ConfigError
from shieldwall.interop.crowdsec.journal import Journal
from shieldwall.interop.crowdsec.server import DEFAULT_BOUNCER_LISTEN

tls_options = [
    click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="PEM certificate: required to listen beyond loopback."),
    click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="PEM private key of --tls-cert."),
]


def _journal(directory: Path | None) -> Journal:
    return Journal.open(_data_dir(directory))


def _when(moment: float | None) -> str:
    if moment is None:
        return "never"
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


@click.group("bouncer")
def bouncer() -> None:
    """CrowdSec bouncers pulling this member's blocks (add, list, delete, serve, setup).

    \b
    Example:
      shieldwall bouncer serve &
      shieldwall bouncer setup firewall
    """


@bouncer.command("add")
@click.argument("name")
@data_dir_option
@click.option("--raw", is_flag=True, help="Print only the key (for scripts).")
def add(name: str, data_dir: Path | None, raw: bool) -> None:
    """Register a bouncer and print its API key (shown once; only its hash is stored).

    \b
    Example:
      shieldwall bouncer add nginx
    """
    with command_errors("bouncer add"):
        key = _journal(data_dir).add_bouncer(name, time.time())
    if raw:
        click.echo(key)
        return
    click.echo(f"API key for {name!r}:\n\n   {key}\n")
    click.echo("Keep it now: it cannot be shown again (`bouncer delete` and `add` make a new one).")


@bouncer.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def list_command(data_dir: Path | None, as_json: bool) -> None:
    """Registered bouncers: last pull, client, how far behind, ranges withheld from it.

    \b
    Example:
      shieldwall bouncer list --json
    """
    with command_errors("bouncer list"):
        journal = _journal(data_dir)
        rows, head = journal.bouncers(), journal.head()
    if as_json:
        click.echo(json.dumps({"head": head, "bouncers": [
            {"name": b.name, "created": b.created, "last_pull": b.last_pull,
             "user_agent": b.user_agent, "cursor": b.cursor, "withheld_ranges": b.withheld}
            for b in rows]}, indent=2))
        return
    if not rows:
        click.echo("no bouncers; add one with: shieldwall bouncer add NAME")
        return
    click.echo(f"{'NAME':<24} {'LAST PULL':<21} {'BEHIND':>6} {'WITHHELD':>8}  CLIENT")
    for b in rows:
        click.echo(f"{b.name:<24} {_when(b.last_pull):<21} {head - b.cursor:>6} "
                   f"{b.withheld:>8}  {b.user_agent or '-'}")
    if any(b.withheld for b in rows):
        click.echo("WITHHELD: range blocks not sent because that client would enforce a range "
                   "as its first address only (crowdsec-firewall-bouncer issues 396/412).")


@bouncer.command("delete")
@click.argument("name")
@data_dir_option
def delete(name: str, data_dir: Path | None) -> None:
    """Forget a bouncer: its key stops working at once.

    \b
    Example:
      shieldwall bouncer delete nginx
    """
    with command_errors("bouncer delete"):
        if not _journal(data_dir).delete_bouncer(name):
            raise ConfigError(f"no bouncer named {name!r} (see `shieldwall bouncer list`)")
    click.echo(f"bouncer {name!r} deleted")


@bouncer.command("serve")
@data_dir_option
@click.option("--listen", default=DEFAULT_BOUNCER_LISTEN, show_default=True, help="HOST:PORT.")
@click.option("--prefix", default="", help="Serve under this path, e.g. /crowdsec.")
@tls_options[0]
@tls_options[1]
def serve(data_dir: Path | None, listen: str, prefix: str, tls_cert: Path | None,
          tls_key: Path | None) -> None:
    """Serve CrowdSec's bouncer API from this member's block store until interrupted.

    \b
    Example:
      shieldwall bouncer serve --listen 127.0.0.1:8081
    """
    from shieldwall.interop.crowdsec.bouncer_api import create_bouncer_app
    from shieldwall.interop.crowdsec.server import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with command_errors("bouncer serve"):
        app = create_bouncer_app(_data_dir(data_dir), prefix=prefix)
        server = make_server(app, listen, tls_cert=tls_cert, tls_key=tls_key)
    click.echo(f"bouncer API on {'https' if tls_cert else 'http'}://{listen}{prefix}/", err=True)
    server.run()


@bouncer.group("setup")
def setup() -> None:
    """Point an installed CrowdSec bouncer at this member.

    \b
    Example:
      shieldwall bouncer setup firewall --every 5s
    """


@setup.command("firewall")
@data_dir_option
@click.option("--name", default="firewall", show_default=True, help="Bouncer name (key owner).")
@click.option("--url", default=f"http://{DEFAULT_BOUNCER_LISTEN}/", show_default=True,
              help="Where `shieldwall bouncer serve` listens (with its --prefix).")
@click.option("--mode", type=click.Choice(["nftables", "iptables"]), default="nftables",
              show_default=True)
@click.option("--every", default="", help="The bouncer's update_frequency, e.g. 1s [its: 10s].")
@click.option("--etc", type=click.Path(file_okay=False, path_type=Path), default=Path("/etc"),
              show_default=True, help="Root of the files written (for staging).")
def setup_firewall(data_dir: Path | None, name: str, url: str, mode: str, every: str,
                   etc: Path) -> None:
    """Configure Debian's crowdsec-firewall-bouncer: key, URL, restart drop-in.

    Writes /etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml.local (mode 600)
    and a systemd drop-in restarting the bouncer until it connects. Running it
    again gives the bouncer a new key.

    \b
    Example:
      shieldwall bouncer setup firewall
      systemctl daemon-reload && systemctl restart crowdsec-firewall-bouncer
    """
    from shieldwall.interop.crowdsec.firewall_setup import (
        FirewallSetup,
        render_config_local,
        write_setup,
    )

    with command_errors("bouncer setup firewall"):
        render_config_local(FirewallSetup(url, "0" * 48, mode, every))  # refuse bad input first
        journal = _journal(data_dir)
        replaced = journal.delete_bouncer(name)
        key = journal.add_bouncer(name, time.time())
        written = write_setup(etc, FirewallSetup(url, key, mode, every))
    if replaced:
        click.echo(f"bouncer {name!r} existed: it has a new key now")
    for path in written:
        click.echo(f"wrote {path}")
    click.echo("next: systemctl daemon-reload && systemctl restart crowdsec-firewall-bouncer")
