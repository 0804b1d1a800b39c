"""Real ``shieldwall hub serve`` replica processes on one data folder, for tests and
benchmarks: start them, ask their ``/readyz``, kill one with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shieldwall.hub.config import HubConfig
from shieldwall.hub.identity import CERT_FILE


@dataclass
class ReplicaProcess:
    """One ``hub serve`` process."""

    listen: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lock released by the process (the server notices)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@dataclass
class ReplicaSet:
    """Replicas of one hub; :meth:`ready` asks each replica's ``/readyz``."""

    config: HubConfig
    replicas: list[ReplicaProcess] = field(default_factory=list)

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.config.data_dir / CERT_FILE))
        context.check_hostname = False
        return context

    def ready(self, replica: ReplicaProcess) -> dict[str, object] | None:
        """The replica's ``/readyz`` body, or None while it does not answer 200."""
        try:
            answer = httpx.get(f"https://{replica.listen}/readyz", verify=self.context(),
                               timeout=2.0)
        except httpx.HTTPError:
            return None
        body: dict[str, object] = answer.json()
        return body if answer.status_code == 200 else None

    def leader(self) -> ReplicaProcess | None:
        """The replica that says it leads, if exactly one does."""
        leading = [r for r in self.replicas
                   if r.process.poll() is None and (self.ready(r) or {}).get("role") == "leader"]
        return leading[0] if len(leading) == 1 else None

    def start(self, listen: str, timeout: float = 30.0) -> ReplicaProcess:
        """Start a replica on ``listen`` and wait until its ``/readyz`` answers."""
        log = self.config.data_dir / f"replica-{listen.replace(':', '_')}.log"
        with log.open("wb") as output:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "shieldwall.cli.main", "hub", "serve", "--data",
                 str(self.config.data_dir), "--listen", listen],
                stdout=output, stderr=subprocess.STDOUT,
            )
        replica = ReplicaProcess(listen, process, log)
        self.replicas.append(replica)
        deadline = time.monotonic() + timeout
        while self.ready(replica) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"replica {listen} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        return replica

    def stop(self) -> None:
        """SIGTERM every replica still running (SIGKILL if it does not stop)."""
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in self.replicas:
            try:
                replica.process.wait(15)
            except subprocess.TimeoutExpired:
                replica.kill()


@contextlib.contextmanager
def replica_set(config: HubConfig, listens: list[str]) -> Iterator[ReplicaSet]:
    """Replicas on ``listens`` (the first started first, so it leads), stopped afterwards."""
    replicas = ReplicaSet(config)
    try:
        for listen in listens:
            replicas.start(listen)
            if len(replicas.replicas) == 1:
                deadline = time.monotonic() + 15
                while replicas.leader() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
        yield replicas
    finally:
        replicas.stop()


def without_trust(config: HubConfig) -> HubConfig:
    """Switch the policy's trust rules off: these tests count decisions, and a member
    that joined a moment ago is on probation until the leader reloads its members."""
    assert config.policy_file is not None
    text = config.policy_file.read_text()
    header = re.search(r"(?m)^\[trust\]\s*$", text)  # the table, not a comment naming it
    if header:
        head, rest = text[:header.start()], text[header.end():]
        rest = re.sub(r"(?m)^enabled\s*=.*$\n?", "", rest, count=1)
        text = f"{head}[trust]\nenabled = false{rest}"
    else:
        text += "\n[trust]\nenabled = false\n"
    config.policy_file.write_text(text)
    return config
