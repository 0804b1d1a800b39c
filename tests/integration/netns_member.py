"""A hub and one member's agent as real processes in a network namespace of the test's
own (for the readiness tests): the namespace, the commands run inside it, the processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: The hub's port inside the namespace (its loopback is the namespace's own).
HUB_PORT = 18443


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check)


def until(condition: Callable[[], bool], limit: float = 30.0, step: float = 0.2) -> bool:
    """Poll ``condition`` until it holds or ``limit`` seconds pass (a deadline, not a timing)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@dataclass
class NetnsMember:
    """The namespace ``ns`` and the folder ``root`` holding the hub, the member and logs."""

    ns: str
    root: Path
    processes: dict[str, subprocess.Popen[str]] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.root / "member"

    @property
    def hub(self) -> Path:
        return self.root / "hub"

    @property
    def log(self) -> Path:
        return self.root / "auth.log"

    def inside(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *args]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return sh(*self.inside(sys.executable, "-m", "shieldwall.cli.main", *args), check=False)

    def start(self, name: str, *args: str) -> None:
        argv = self.inside(sys.executable, "-m", "shieldwall.cli.main", *args)
        with open(self.root / f"{name}.out", "a") as out:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                                    text=True)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def output(self) -> str:
        """What the hub and the agent printed so far."""
        return "".join((self.root / f"{n}.out").read_text() for n in ("hub", "agent")
                       if (self.root / f"{n}.out").exists())

    def found(self, readiness: str) -> None:
        """The namespace, a hub serving in it, this member joined as ``alpha`` and its
        ``agent.toml`` (nftables, one sshd log) with the ``[readiness]`` lines given."""
        sh("ip", "netns", "add", self.ns)
        sh(*self.inside("ip", "link", "set", "lo", "up"))
        done = self.cli("hub", "init", "--data", str(self.hub), "--listen",
                        f"127.0.0.1:{HUB_PORT}")
        assert done.returncode == 0, done.stderr
        self.start("hub", "hub", "serve", "--data", str(self.hub))
        token = self.cli("hub", "invite", "--data", str(self.hub), "--name", "alpha").stdout.strip()
        assert until(lambda: self.cli("join", token, "--data", str(self.data)).returncode == 0), \
            self.output()
        self.log.write_text("Dec  1 10:00:00 host sshd[1]: Connection closed\n")
        (self.root / "agent.toml").write_text(
            f'[agent]\ndata_dir = "{self.data}"\n'
            f'[[sources]]\nkind = "file"\npath = "{self.log}"\npack = "sshd"\n'
            '[enforce]\nbackend = "nftables"\n'
            f"[readiness]\n{readiness}")

    def ban(self, *addresses: str) -> None:
        """Local bans for an hour (blocks the table must hold)."""
        for address in addresses:
            done = self.cli("ban", address, "--for", "1h", "--data-dir", str(self.data))
            assert done.returncode == 0, done.stderr

    def close(self) -> None:
        """Stop every process started here and remove the namespace."""
        for name in list(self.processes):
            self.stop(name)
        sh("ip", "netns", "del", self.ns, check=False)
