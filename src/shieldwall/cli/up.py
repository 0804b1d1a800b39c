"""``shieldwall up``: the embedded default - a hub on SQLite and an agent joined to it.

One process, one event loop: the hub serves in it (as in ``hub serve``) and the
agent runs beside it, so Ctrl-C or SIGTERM ends both and leaves nothing behind.
The hub is created and the agent joined through :mod:`shieldwall.hub.create` and
:func:`shieldwall.signals.client.join`, the same library the CLI and the lab use.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from shieldwall.cli.main import command_errors
from shieldwall.errors import HostError, ShieldwallError
from shieldwall.sources.discover import DiscoveredSource, discover, journal_problem, readable_file

if TYPE_CHECKING:
    from shieldwall.agent.config import AgentConfig
    from shieldwall.hub.config import HubConfig
    from shieldwall.hub.server import HubServer

DEFAULT_ROOT = Path("/var/lib/shieldwall")
#: Where a hub that ``up`` creates listens, unless --listen says otherwise.
NEW_HUB_LISTEN = "0.0.0.0:8443"
#: How long the invite that ``up`` makes for its own agent lives (it is used at once).
SELF_INVITE_SECONDS = 600.0


def choose_backend(requested: str, euid: int, nft: str | None) -> tuple[str, str]:
    """(enforcer, why) for ``--backend``: ``auto`` is nftables when root and nft exist."""
    if requested != "auto":
        return requested, "chosen with --backend"
    if euid != 0:
        return "memory", ("not root, so blocks are kept in memory only; run as root to block "
                          "in nftables")
    if nft is None:
        return "memory", ("no nft command, so blocks are kept in memory only; "
                          "apt-get install nftables libnftables1")
    return "nftables", "root and nft found; blocks go into table inet shieldwall"


def render_agent_config(member_dir: Path, sources: list[DiscoveredSource], backend: str) -> str:
    """A documented agent configuration for ``up`` (written once, then the user's)."""
    lines = [
        "# Written by `shieldwall up`; edit freely (see deploy/agent.toml for every key).",
        "[agent]",
        f'data_dir = "{member_dir}"',
        "",
    ]
    for source in sources:
        lines += ["[[sources]]", f'kind = "{source.kind}"', f'pack = "{source.pack}"']
        if source.kind == "file":
            lines.append(f'path = "{source.path}"')
        if source.kind == "journald":
            lines.append('units = ["ssh.service", "sshd.service"]')
        lines.append("")
    lines += [
        "[detection]",
        "allow = []          # addresses/CIDRs never detected (your admins, monitors)",
        "",
        "[enforce]",
        f'backend = "{backend}"',
        "allow = []          # addresses/CIDRs never blocked on this host",
        "",
    ]
    return "\n".join(lines)


def member_name() -> str:
    """This host's short name as a member name, or ``local`` when it is not a valid one."""
    from shieldwall.hub.members import check_member_name

    name = socket.gethostname().split(".")[0].lower()
    try:
        check_member_name(name)
    except ShieldwallError:
        return "local"
    return name


def describe(config: AgentConfig, config_path: Path, unwatched: list[str], why: str) -> list[str]:
    """What the newcomer is told: each log followed, what is not watched, the enforcer and why."""
    said = []
    for source in config.sources:
        state = ""
        if source.kind == "file" and not Path(source.path).exists():
            state = " (not there yet: followed once it appears)"
        said.append(f"watching: {source.label} with the {source.pack} pack{state}")
    if not config.sources:
        said.append(f"watching: nothing; add [[sources]] tables to {config_path}")
    if not any(source.pack == "sshd" for source in config.sources):
        said += unwatched or [f"sshd is not watched: no source in {config_path} uses the sshd pack"]
    else:
        said += [line for line in unwatched if not line.startswith("sshd")]
    said.append(f"enforcer: {config.backend} ({why})")
    return said


@click.command()
@click.option("--data", "root", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_ROOT, show_default=True,
              help="Where the hub's and the member's state live (hub/, member/, agent.toml).")
@click.option("--listen", default=None,
              help="HOST:PORT the hub serves on [default: from hub.toml; 0.0.0.0:8443 for a new hub].")
@click.option("--address", default=None,
              help="HOST:PORT other hosts reach the hub at (goes into invite tokens).")
@click.option("--backend", type=click.Choice(["auto", "nftables", "memory"]), default="auto",
              show_default=True, help="Enforcer: nftables when root and nft exist, else memory.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def up(root: Path, listen: str | None, address: str | None, backend: str, log_format: str) -> None:
    """Start a hub on SQLite and an agent on this host, joined to it.

    The first run creates everything under --data; later runs reuse it. The
    hub and the agent run in this one process; the agent watches this host's
    logs (sshd via /var/log/auth.log, /var/log/secure or journald; nginx/apache
    access logs, the Postfix log and /var/log/vsftpd.log when present) and blocks attackers in
    nftables. It says what it watches, what it cannot, and which enforcer runs.
    Stop with Ctrl-C or SIGTERM.

    \b
    Example:
      sudo shieldwall up
      sudo shieldwall up --address 203.0.113.10:8443   # so other hosts can join
    """
    from shieldwall.agent.config import load_agent_config
    from shieldwall.cli.agent import _until_signalled
    from shieldwall.hub.config import CONFIG_FILE, load_hub_config
    from shieldwall.hub.create import init_hub

    with command_errors("up"):
        hub_dir, member_dir, config_path = root / "hub", root / "member", root / "agent.toml"
        chosen, why = choose_backend(backend, os.geteuid(), shutil.which("nft"))
        found = discover(readable_file, journal_problem())
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not (hub_dir / CONFIG_FILE).exists():
            init_hub(hub_dir, listen=listen or NEW_HUB_LISTEN, address=address)
        if not config_path.exists():
            config_path.write_text(render_agent_config(member_dir, found.sources, chosen))
        hub_config = load_hub_config(hub_dir)
        listen = listen or hub_config.listen
        agent_config = load_agent_config(config_path)
        if agent_config.backend != chosen:
            why = f"as {config_path} says; edit its [enforce] backend to change"
        said = describe(agent_config, config_path, found.unwatched, why)
        asyncio.run(_until_signalled(_serve_and_run(
            hub_config, agent_config, listen, log_format, said, root)))


async def _serve_and_run(hub_config: HubConfig, agent_config: AgentConfig, listen: str,
                         log_format: str, said: list[str], root: Path) -> None:
    """Serve the hub, join the agent to it once, run the agent; stop both together."""
    from shieldwall.agent.runtime import AgentRuntime, json_notes, text_notes
    from shieldwall.hub.create import invite
    from shieldwall.hub.server import make_server
    from shieldwall.signals.client import join
    from shieldwall.signals.member_state import STATE_FILE

    server = make_server(hub_config, listen)
    server.embedded = True
    hub = asyncio.ensure_future(_serve(server, listen))
    try:
        await _started(server, hub, listen)
        if not (agent_config.data_dir / STATE_FILE).exists():
            token = await invite(hub_config, member_name(), SELF_INVITE_SECONDS, time.time())
            await join(token, agent_config.data_dir)
        notes = json_notes() if log_format == "json" else text_notes()
        runtime = AgentRuntime(agent_config, notes=notes)
        for line in [f"shieldwall is up. State: {root} (hub: {hub_config.data_dir}, "
                     f"member: {agent_config.data_dir})", *said,
                     f"invite another host: shieldwall hub invite --data {hub_config.data_dir} "
                     "--name web2   then on it: shieldwall join TOKEN",
                     f"dashboard (read-only, from this host): https://{local_address(listen)}/ui/"]:
            click.echo(line, err=True)
        agent = asyncio.ensure_future(runtime.run())
        try:
            done, _ = await asyncio.wait({hub, agent}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            agent.cancel()
            await asyncio.gather(agent, return_exceptions=True)
        if hub in done:
            raise HostError("the hub stopped on its own; see the messages above")
        agent.result()
    finally:
        server.stop()
        await asyncio.gather(hub, return_exceptions=True)


def local_address(listen: str) -> str:
    """Where a browser on this host reaches a hub listening on ``listen``."""
    from shieldwall.hub.config import split_host_port

    host, port = split_host_port(listen)
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


async def _serve(server: HubServer, listen: str) -> None:
    try:
        await server.serve()
    except SystemExit:
        # uvicorn exits the process when it cannot bind; here that ends `up` with a reason.
        raise HostError(f"the hub could not listen on {listen} (is the port taken? choose "
                        "another with --listen)") from None


async def _started(server: HubServer, hub: asyncio.Future[None], listen: str) -> None:
    """Wait until the hub listens; a hub that ended at start raises its error."""
    while not server.started:
        if hub.done():
            hub.result()
            raise HostError(f"the hub stopped while starting on {listen}")
        await asyncio.sleep(0.02)
