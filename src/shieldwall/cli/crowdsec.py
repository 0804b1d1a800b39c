"""``shieldwall crowdsec``: CrowdSec log processors as this member's detectors.

``gateway`` serves the watcher part of CrowdSec's Local API: each alert a
CrowdSec agent posts becomes a signed signal of this member, sent to the hub.
``machine add|list|validate|delete`` manages the log processors allowed in,
like ``cscli machines``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from pathlib import Path

import click

from shieldwall.cli.bouncer import tls_options
from shieldwall.cli.enforce import data_dir_option
from shieldwall.cli.main import command_errors
from shieldwall.enforcers.store import data_dir as _data_dir
from shieldwall.errors import ConfigError
from shieldwall.interop.crowdsec.machines import Machines
from shieldwall.interop.crowdsec.server import DEFAULT_GATEWAY_LISTEN


@click.group("crowdsec")
def crowdsec() -> None:
    """CrowdSec log processors posting alerts as this member (gateway, machine).

    \b
    Example:
      shieldwall crowdsec machine add cs-agent --credentials /etc/crowdsec/local_api_credentials.yaml
      shieldwall crowdsec gateway --config /etc/shieldwall/agent.toml
    """


@crowdsec.command("gateway")
@data_dir_option
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The agent's TOML: its allowlists and data_dir apply.")
@click.option("--listen", default=DEFAULT_GATEWAY_LISTEN, show_default=True, help="HOST:PORT.")
@click.option("--prefix", default="", help="Serve under this path, e.g. /crowdsec.")
@tls_options[0]
@tls_options[1]
def gateway(data_dir: Path | None, config_path: Path | None, listen: str, prefix: str,
            tls_cert: Path | None, tls_key: Path | None) -> None:
    """Serve CrowdSec's watcher API: alerts become this member's signals.

    \b
    Example:
      shieldwall crowdsec machine add cs-agent --credentials /etc/crowdsec/local_api_credentials.yaml
      shieldwall crowdsec gateway --config /etc/shieldwall/agent.toml
    """
    from shieldwall.interop.crowdsec.gateway_app import create_gateway_app
    from shieldwall.interop.crowdsec.server import make_server
    from shieldwall.signals.member_state import load_member_state

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per signal batch is ours
    with command_errors("crowdsec gateway"):
        allow: tuple[str, ...] = ()
        ipv6_prefix = 64
        directory = _data_dir(data_dir)
        if config_path is not None:
            from shieldwall.agent.config import load_agent_config

            config = load_agent_config(config_path)
            allow = config.detect_allow + config.enforce_allow
            ipv6_prefix = config.ipv6_prefix
            directory = data_dir or config.data_dir
        member = load_member_state(directory)
        app = create_gateway_app(directory, member, allow=allow, ipv6_prefix=ipv6_prefix,
                                 prefix=prefix)
        server = make_server(app, listen, tls_cert=tls_cert, tls_key=tls_key)
    click.echo(f"CrowdSec gateway for member {member.name!r} on "
               f"{'https' if tls_cert else 'http'}://{listen}{prefix}/", err=True)
    server.run()


@crowdsec.group("machine")
def machine() -> None:
    """Log processors allowed to post alerts (add, list, validate, delete).

    \b
    Example:
      shieldwall crowdsec machine list
    """


def credentials_yaml(url: str, name: str, password: str) -> str:
    """CrowdSec's ``local_api_credentials.yaml`` for one machine."""
    for value in (url, name, password):
        if any(c in value for c in "\n\r\"'#") or value != value.strip():
            raise ConfigError(f"{value[:40]!r} cannot be written to the credentials YAML")
    return f"url: {url}\nlogin: {name}\npassword: {password}\n"


@machine.command("add")
@click.argument("name")
@data_dir_option
@click.option("--credentials", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write CrowdSec's local_api_credentials.yaml here (mode 600).")
@click.option("--url", default=f"http://{DEFAULT_GATEWAY_LISTEN}/", show_default=True,
              help="The gateway's URL, for --credentials.")
def machine_add(name: str, data_dir: Path | None, credentials: Path | None, url: str) -> None:
    """Allow a log processor in; prints its password once (only a hash is kept).

    \b
    Example:
      shieldwall crowdsec machine add cs-agent --credentials /etc/crowdsec/local_api_credentials.yaml
    """
    with command_errors("crowdsec machine add"):
        text = credentials_yaml(url, name, "x" * 8)  # refuse a bad URL before registering
        password = Machines(_data_dir(data_dir)).add(name, time.time())
        text = credentials_yaml(url, name, password)
        if credentials is None:
            click.echo(f"machine {name!r}: password (shown once):\n\n   {password}\n")
            click.echo(f"its local_api_credentials.yaml:\n{text}")
            return
        try:
            fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(text)
        except OSError as exc:
            raise ConfigError(f"cannot write {credentials}: {exc}") from None
    click.echo(f"machine {name!r} added; wrote {credentials}")


@machine.command("list")
@data_dir_option
@click.option("--json", "as_json", is_flag=True)
def machine_list(data_dir: Path | None, as_json: bool) -> None:
    """Registered machines: validated or pending, last seen, alerts posted.

    \b
    Example:
      shieldwall crowdsec machine list --json
    """
    with command_errors("crowdsec machine list"):
        rows = Machines(_data_dir(data_dir)).list()
    if as_json:
        click.echo(json.dumps([{"name": m.name, "validated": m.validated,
                                "last_seen": m.last_seen, "alerts": m.alerts} for m in rows]))
        return
    for m in rows:
        seen = ("never" if m.last_seen is None else
                dt.datetime.fromtimestamp(m.last_seen, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"))
        click.echo(f"{m.name:<32} {'validated' if m.validated else 'PENDING':<10} "
                   f"{seen:<21} {m.alerts} alerts")
    if not rows:
        click.echo("no machines; add one with: shieldwall crowdsec machine add NAME")


@machine.command("validate")
@click.argument("name")
@data_dir_option
def machine_validate(name: str, data_dir: Path | None) -> None:
    """Accept a machine that registered itself (``cscli lapi register``).

    \b
    Example:
      shieldwall crowdsec machine validate web1-crowdsec
    """
    with command_errors("crowdsec machine validate"):
        if not Machines(_data_dir(data_dir)).validate(name):
            raise ConfigError(f"no machine named {name!r}")
    click.echo(f"machine {name!r} validated")


@machine.command("delete")
@click.argument("name")
@data_dir_option
def machine_delete(name: str, data_dir: Path | None) -> None:
    """Forget a machine: its logins and tokens stop working at once.

    \b
    Example:
      shieldwall crowdsec machine delete web1-crowdsec
    """
    with command_errors("crowdsec machine delete"):
        if not Machines(_data_dir(data_dir)).delete(name):
            raise ConfigError(f"no machine named {name!r}")
    click.echo(f"machine {name!r} deleted")
