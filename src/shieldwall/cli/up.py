"""``shieldwall up``: the embedded default - a hub on SQLite and an agent joined to it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from shieldwall.errors import ShieldwallError

DEFAULT_ROOT = Path("/var/lib/shieldwall")


def _shieldwall(*args: str) -> list[str]:
    return [sys.executable, "-m", "shieldwall.cli.main", *args]


def _run(*args: str) -> str:
    done = subprocess.run(_shieldwall(*args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.ClickException(
            f"`shieldwall {' '.join(args[:2])}` failed: {done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


def _wait_listening(host: str, port: int, child: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise click.ClickException("the hub exited at start; run `shieldwall hub serve` to see why")
        try:
            with socket.create_connection((target, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise click.ClickException(f"the hub did not start listening on {host}:{port} in {timeout:.0f}s")


def default_sources() -> list[tuple[str, str, str]]:
    """(kind, path, pack) for the logs a stock Debian/Ubuntu server has."""
    found: list[tuple[str, str, str]] = []
    if Path("/var/log/auth.log").exists():
        found.append(("file", "/var/log/auth.log", "sshd"))
    elif shutil.which("journalctl") and Path("/run/systemd/journal").exists():
        found.append(("journald", "", "sshd"))
    for access in ("/var/log/nginx/access.log", "/var/log/apache2/access.log"):
        if Path(access).exists():
            found.append(("file", access, "http"))
    return found


def render_agent_config(
    member_dir: Path, sources: list[tuple[str, str, str]], backend: str
) -> str:
    """A documented agent configuration for ``up`` (written once, then the user's)."""
    lines = [
        "# Written by `shieldwall up`; edit freely (see deploy/agent.toml for every key).",
        "[agent]",
        f'data_dir = "{member_dir}"',
        "",
    ]
    for kind, path, pack in sources:
        lines += ["[[sources]]", f'kind = "{kind}"', f'pack = "{pack}"']
        if kind == "file":
            lines.append(f'path = "{path}"')
        if kind == "journald":
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


@click.command()
@click.option("--data", "root", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_ROOT, show_default=True,
              help="Where the hub's and the member's state live (hub/, member/, agent.toml).")
@click.option("--listen", default="0.0.0.0:8443", show_default=True,
              help="HOST:PORT the hub serves on.")
@click.option("--address", default=None,
              help="HOST:PORT other hosts reach the hub at (goes into invite tokens).")
@click.option("--backend", type=click.Choice(["auto", "nftables", "memory"]), default="auto",
              show_default=True, help="Enforcer: nftables when root and nft exist, else memory.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def up(root: Path, listen: str, address: str | None, backend: str, log_format: str) -> None:
    """Start a hub on SQLite and an agent on this host, joined to it.

    The first run creates everything under --data; later runs reuse it. The
    hub runs as a child process; the agent watches this host's logs (sshd via
    /var/log/auth.log or journald, nginx/apache access logs when present) and
    blocks attackers in nftables. Stop with Ctrl-C.

    \b
    Example:
      sudo shieldwall up
      sudo shieldwall up --address 203.0.113.10:8443   # so other hosts can join
    """
    from shieldwall.hub.config import CONFIG_FILE, split_host_port

    hub_dir, member_dir, config_path = root / "hub", root / "member", root / "agent.toml"
    if backend == "auto":
        backend = "nftables" if os.geteuid() == 0 and shutil.which("nft") else "memory"
        if backend == "memory":
            click.echo("note: not root or no nft: blocks are kept in memory only "
                       "(run as root with nftables installed to enforce)", err=True)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (hub_dir / CONFIG_FILE).exists():
        extra = ["--address", address] if address else []
        _run("hub", "init", "--data", str(hub_dir), "--listen", listen, *extra)
    host, port = split_host_port(listen)
    hub_child = subprocess.Popen(
        _shieldwall("hub", "serve", "--data", str(hub_dir)),
        stdout=subprocess.DEVNULL, stderr=open(root / "hub.log", "ab"),  # noqa: SIM115
    )
    try:
        _wait_listening(host, port, hub_child, 15.0)
        if not (member_dir / "member.json").exists():
            token = _run("hub", "invite", "--data", str(hub_dir), "--name",
                         socket.gethostname().split(".")[0] or "local").strip().splitlines()[-1]
            _run("join", token, "--data", str(member_dir))
        if not config_path.exists():
            config_path.write_text(render_agent_config(member_dir, default_sources(), backend))
        _agent(root, hub_dir, config_path, log_format)
    finally:
        hub_child.terminate()
        try:
            hub_child.wait(10)
        except subprocess.TimeoutExpired:
            hub_child.kill()


def _agent(root: Path, hub_dir: Path, config_path: Path, log_format: str) -> None:
    from shieldwall.agent.config import load_agent_config
    from shieldwall.agent.runtime import AgentRuntime, json_notes, text_notes
    from shieldwall.cli.agent import _until_signalled

    try:
        config = load_agent_config(config_path)
        runtime = AgentRuntime(config, notes=json_notes() if log_format == "json" else text_notes())
    except ShieldwallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"shieldwall is up. State: {root} (hub: {hub_dir}, member: {config.data_dir})", err=True)
    watched = ", ".join(s.label for s in config.sources) or "nothing (add [[sources]] to the config)"
    click.echo(f"watching: {watched}; enforcer: {config.backend}; config: {config_path}", err=True)
    click.echo(f"invite another host: shieldwall hub invite --data {hub_dir} --name web2  "
               "then on it: shieldwall join TOKEN", err=True)
    asyncio.run(_until_signalled(runtime.run()))
