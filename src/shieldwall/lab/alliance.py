"""A whole alliance in a :class:`~shieldwall.lab.runner.Lab`: hub, members, attacker.

Each member namespace runs a real sshd (and optionally nginx) logging to its own
files, and a Shieldwall agent (``shieldwall agent run``) that reads those files
and enforces with nftables inside the member's namespace. The hub runs
``shieldwall hub serve`` in its own namespace; members join it with real
invites. Everything lives under the lab's work folder and namespaces and goes
away with the lab.

Usage (what ``shieldwall demo`` and ``tests/e2e`` do)::

    with Lab(plan_lab(["hub", "a", "b", "c", "attacker"], suffix)) as lab:
        alliance = Alliance(lab, members=("a", "b", "c"), nginx_on=("b",))
        alliance.build()
        alliance.ssh_attempts("a", 6)
        alliance.wait_blocked("b", alliance.attacker.v4)
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shieldwall.decisions.decision import Decision
from shieldwall.enforcers.nftables import NftablesEnforcer, NftCommand
from shieldwall.hub.config import load_hub_config
from shieldwall.hub.create import init_hub, invite
from shieldwall.lab import attacker as attack
from shieldwall.lab.nginx import nginx_argv, render_nginx_config
from shieldwall.lab.runner import Lab, LabError
from shieldwall.lab.sshd import PRIVSEP_DIR, keygen_argv, render_sshd_config, sshd_argv
from shieldwall.lab.topology import Node, netns_exec

HUB_PORT = 8443
SSH_PORT = 22
HTTP_PORT = 80
#: The ``shieldwall`` command as this interpreter runs it (works from a checkout too).
SHIELDWALL = [sys.executable, "-m", "shieldwall.cli.main"]

_WAIT_PORT = """
import socket, sys, time
host, port, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while True:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.05)
"""


@dataclass
class Member:
    """One member host of the lab and the files it writes."""

    name: str
    node: Node
    folder: Path
    detect_allow: tuple[str, ...] = ()
    enforce_allow: tuple[str, ...] = ()
    nginx: bool = False
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        """Member state written by ``shieldwall join``; the agent's state too."""
        return self.folder / "member"

    @property
    def auth_log(self) -> Path:
        """sshd's log, syslog-style lines."""
        return self.folder / "auth.log"

    @property
    def access_log(self) -> Path:
        """nginx's access log (combined format)."""
        return self.folder / "nginx" / "access.log"

    @property
    def agent_config(self) -> Path:
        """The agent's TOML."""
        return self.folder / "agent.toml"

    @property
    def agent_log(self) -> Path:
        """The agent's output (JSON log lines)."""
        return self.folder / "agent.log"


def render_agent_config(member: Member, backend: str) -> str:
    """The agent TOML for a lab member: its sshd log (and nginx's), its allowlists."""

    def strings(items: Iterable[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    sources = [("file", str(member.auth_log), "sshd")]
    if member.nginx:
        sources.append(("file", str(member.access_log), "http"))
    text = f'[agent]\ndata_dir = "{member.data_dir}"\nname = "{member.name}"\n'
    for kind, path, pack in sources:
        text += f'\n[[sources]]\nkind = "{kind}"\npath = "{path}"\npack = "{pack}"\n'
    text += f"\n[detection]\nallow = {strings(member.detect_allow)}\n"
    text += f'\n[enforce]\nbackend = "{backend}"\nallow = {strings(member.enforce_allow)}\n'
    return text


class Alliance:
    """A hub, members and an attacker inside ``lab``."""

    def __init__(
        self,
        lab: Lab,
        members: Sequence[str] = ("a", "b", "c"),
        *,
        hub: str = "hub",
        attacker: str = "attacker",
        nginx_on: Sequence[str] = (),
        backend: str = "nftables",
        detect_allow: dict[str, Sequence[str]] | None = None,
        enforce_allow: dict[str, Sequence[str]] | None = None,
        agent_argv: Callable[[Member], list[str]] | None = None,
    ) -> None:
        self.lab = lab
        self.hub = lab.topology.node(hub)
        self.attacker = lab.topology.node(attacker)
        self.backend = backend
        self.hub_dir = lab.workdir / "hub"
        self.hub_process: subprocess.Popen[bytes] | None = None
        self._invite_lock = threading.Lock()
        self.agent_argv = agent_argv or (
            lambda m: [*SHIELDWALL, "agent", "run", "--config", str(m.agent_config),
                       "--log-format", "json"]
        )
        allow_d = detect_allow or {}
        allow_e = enforce_allow or {}
        self.members: dict[str, Member] = {}
        for name in members:
            folder = lab.workdir / name
            folder.mkdir(parents=True, exist_ok=True)
            self.members[name] = Member(
                name=name, node=lab.topology.node(name), folder=folder,
                detect_allow=tuple(allow_d.get(name, ())),
                enforce_allow=tuple(allow_e.get(name, ())),
                nginx=name in nginx_on,
            )

    @property
    def hub_address(self) -> str:
        """``host:port`` members reach the hub at."""
        return f"{self.hub.v4}:{HUB_PORT}"

    # -- building -------------------------------------------------------------

    def build(self, agents: bool = True) -> None:
        """Hub, joins, sshd (+ nginx), then agents; returns once all listen."""
        self.init_hub()
        self.start_hub()
        for member in self.members.values():
            self.join(member.name)
            self.start_sshd(member.name)
            if member.nginx:
                self.start_nginx(member.name)
        if agents:
            for member in self.members.values():
                self.start_agent(member.name)

    def shieldwall(self, *args: str, node: str | None = None,
                   timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run a ``shieldwall`` command (inside ``node``'s namespace when given)."""
        argv = [*SHIELDWALL, *args]
        if node is not None:
            return self.lab.run(node, argv, timeout=timeout)
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise LabError(f"shieldwall {' '.join(args)} failed: {result.stderr.strip()[:500]}")
        return result

    def init_hub(self) -> None:
        """A hub whose policy lets lab (private) addresses be decided alliance-wide."""
        init_hub(self.hub_dir, listen=f"0.0.0.0:{HUB_PORT}", address=self.hub_address,
                 allow_reserved=True)

    def start_hub(self, timeout: float = 15.0) -> None:
        """``hub serve`` in the hub's namespace; returns once it accepts connections."""
        self.hub_process = self.lab.spawn(
            self.hub.name, [*SHIELDWALL, "hub", "serve", "--data", str(self.hub_dir)],
            log=self.hub_dir / "serve.log",
        )
        try:
            self.wait_port(self.hub.name, self.hub.v4, HUB_PORT, timeout, self.hub_process)
        except LabError as exc:
            tail = (self.hub_dir / "serve.log").read_text(errors="replace")[-1500:]
            raise LabError(f"{exc}\nhub log ends with:\n{tail}") from None

    def stop_hub(self, sig: int = signal.SIGTERM) -> None:
        """Stop the hub (``SIGKILL`` for a crash)."""
        if self.hub_process is not None:
            self.lab.stop(self.hub_process, sig)
            self.hub_process = None

    def join(self, name: str) -> None:
        """Invite ``name`` and join from inside its namespace, owning its addresses."""
        member = self.members[name]
        # One invite at a time: joins run from several threads, each opening the ledger.
        with self._invite_lock:
            token = asyncio.run(invite(load_hub_config(self.hub_dir), name, 3600, time.time()))
        self.shieldwall("join", token, "--data", str(member.data_dir),
                        "--owns", member.node.v4, "--owns", member.node.v6, node=name)

    def start_sshd(self, name: str, allow_users: Sequence[str] = ()) -> None:
        """A real sshd on port 22 of the member's addresses, logging to ``auth.log``."""
        member = self.members[name]
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        key = member.folder / "ssh_host_ed25519_key"
        if not key.exists():
            subprocess.run(keygen_argv(key), check=True, capture_output=True)
        config = member.folder / "sshd_config"
        config.write_text(render_sshd_config([member.node.v4, member.node.v6], SSH_PORT, key,
                                             allow_users=allow_users))
        member.auth_log.touch()
        process = self.lab.spawn(name, sshd_argv(config), log=member.auth_log,
                                 stamp=(name, "sshd"))
        member.processes["sshd"] = process
        self.wait_port(name, member.node.v4, SSH_PORT, 10.0, process)

    def start_nginx(self, name: str) -> None:
        """A real nginx on port 80 of the member's addresses."""
        member = self.members[name]
        prefix = member.access_log.parent
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        (prefix / "nginx.conf").write_text(
            render_nginx_config(prefix, [member.node.v4, member.node.v6], HTTP_PORT))
        member.access_log.touch()
        process = self.lab.spawn(name, nginx_argv(prefix), log=prefix / "stdout.log")
        member.processes["nginx"] = process
        self.wait_port(name, member.node.v4, HTTP_PORT, 10.0, process)

    def start_agent(self, name: str) -> subprocess.Popen[bytes]:
        """``shieldwall agent run`` in the member's namespace."""
        member = self.members[name]
        member.agent_config.write_text(render_agent_config(member, self.backend))
        process = self.lab.spawn(name, self.agent_argv(member), log=member.agent_log)
        member.processes["agent"] = process
        return process

    def stop_agent(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop a member's agent."""
        process = self.members[name].processes.pop("agent", None)
        if process is not None:
            self.lab.stop(process, sig)

    def wait_port(self, node: str, host: str, port: int, timeout: float,
                  process: subprocess.Popen[bytes] | None = None) -> None:
        """Wait until ``host:port`` accepts TCP connections, seen from ``node``."""
        result = self.lab.run(node, [sys.executable, "-c", _WAIT_PORT, host, str(port),
                                     str(timeout)], check=False, timeout=timeout + 10)
        if result.returncode != 0:
            state = "" if process is None or process.poll() is None else (
                f" (the process exited with {process.returncode})")
            raise LabError(f"nothing listens on {host}:{port} in {node} after {timeout:.0f} s"
                           f"{state}; see the logs under {self.lab.workdir}")

    # -- attacking ------------------------------------------------------------

    def source(self, index: int = 0, v6: bool = False) -> str:
        """An attacker address: index 0 is its main address, 1.. its extra ones."""
        if v6:
            return self.attacker.v6
        return self.attacker.v4 if index == 0 else self.attacker.extra_v4[index - 1]

    def ssh_attempts(self, target: str, count: int, *, user: str = "root",
                     password: str = "wrong-password", source: str | None = None,
                     node: str | None = None, v6: bool = False, pause: float = 0.0) -> list[int]:
        """``count`` password attempts at ``target``'s sshd; returns ssh's exit codes."""
        member = self.members[target]
        src = source or self.source(v6=v6)
        dst = member.node.v6 if ":" in src else member.node.v4
        codes = []
        for index in range(count):
            if index and pause:
                time.sleep(pause)
            result = self.lab.run(node or self.attacker.name,
                                  attack.ssh_attempt_argv(src, dst, user, password),
                                  check=False, timeout=20)
            codes.append(result.returncode)
        return codes

    def http_probe(self, target: str, path: str, source: str | None = None) -> str:
        """GET ``path`` from ``target``'s nginx; the status code ("000": no answer)."""
        member = self.members[target]
        src = source or self.source()
        dst = member.node.v6 if ":" in src else member.node.v4
        return self.lab.run(self.attacker.name, attack.http_probe_argv(src, dst, path),
                            check=False).stdout.strip()

    def tcp_open(self, target: str, port: int = SSH_PORT, source: str | None = None,
                 node: str | None = None) -> bool:
        """Whether ``source`` can open a TCP connection to ``target``'s port."""
        member = self.members[target]
        src = source or self.source()
        dst = member.node.v6 if ":" in src else member.node.v4
        result = self.lab.run(node or self.attacker.name, attack.tcp_probe_argv(src, dst, port),
                              check=False)
        return result.stdout.startswith("open")

    # -- observing ------------------------------------------------------------

    def firewall(self, name: str) -> dict[str, float]:
        """What the member's ``inet shieldwall`` table blocks now (target -> until)."""
        netns = self.members[name].node.netns
        enforcer = NftablesEnforcer(NftCommand(prefix=netns_exec(netns, [])))
        return enforcer.current(time.time())

    def blocks(self, name: str, target: str) -> bool:
        """Whether member ``name``'s firewall blocks ``target`` (an address or CIDR key)."""
        return any(t == target or t.startswith(target + "/") for t in self.firewall(name))

    def wait_blocked(self, name: str, target: str, timeout: float = 20.0,
                     blocked: bool = True) -> float:
        """Poll the member's firewall until ``target`` is (or is no longer) blocked.

        Returns the wall-clock time it was first seen so; raises LabError on timeout.
        """
        deadline = time.time() + timeout
        while True:
            if self.blocks(name, target) == blocked:
                return time.time()
            if time.time() > deadline:
                state = "blocked" if blocked else "unblocked"
                raise LabError(f"{target} not {state} on {name} within {timeout:.0f} s; "
                               f"agent log: {self.members[name].agent_log}")
            time.sleep(0.05)

    def notes(self, name: str) -> list[dict[str, Any]]:
        """The JSON notes a member's agent printed so far."""
        from shieldwall.lab.timeline import parse_notes

        try:
            return parse_notes(self.members[name].agent_log.read_bytes())
        except FileNotFoundError:
            return []

    def wait_note(self, name: str, event: str, target: str | None = None,
                  timeout: float = 20.0) -> dict[str, Any]:
        """Wait until member ``name``'s agent printed ``event`` (about ``target``)."""
        deadline = time.time() + timeout
        while True:
            for note in self.notes(name):
                about = note.get("ip") or note.get("target")
                if note.get("event") == event and (target is None or about == target):
                    return note
            if time.time() > deadline:
                raise LabError(f"{name}'s agent did not report {event}"
                               f"{' for ' + target if target else ''} within {timeout:.0f} s; "
                               f"see {self.members[name].agent_log}")
            time.sleep(0.05)

    def decisions(self) -> list[Decision]:
        """The hub's decision log (see :func:`read_decisions`)."""
        return read_decisions(self.hub_dir)

    def explain(self, address: str) -> str:
        """``shieldwall hub explain ADDRESS`` against the hub's ledger."""
        return self.shieldwall("hub", "explain", "--data", str(self.hub_dir), address).stdout


def read_decisions(hub_dir: Path) -> list[Decision]:
    """The hub's decision log, read from its ledger (safe while the hub serves)."""
    import asyncio

    from shieldwall.hub.config import LEDGER_FILE
    from shieldwall.hub.ledger.sqlite import SQLiteLedger

    async def read() -> list[Decision]:
        ledger = SQLiteLedger(hub_dir / LEDGER_FILE)
        await ledger.open()
        try:
            return await ledger.decisions_after(0, 1_000_000)
        finally:
            await ledger.close()

    return asyncio.run(read())
