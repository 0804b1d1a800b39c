"""Test helpers: a council, a hub repository on disk, and a real HTTP server on loopback."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from shieldwall.arsenal.repository import Repository
from shieldwall.arsenal.rule import Rule, parse_rule
from shieldwall.arsenal.updater import Source
from shieldwall.signals.keys import new_seed, public_key_of

#: tuf.ngclient checks expiry against the real clock, so metadata is dated from it.
NOW = float(int(time.time()))


def shipped_rule(name: str = "ssh-quick-guess") -> Rule:
    """A rule shipped in src/shieldwall/arsenal/rules."""
    data = (resources.files("shieldwall.arsenal") / "rules" / f"{name}.toml").read_bytes()
    return parse_rule(data, f"rules/{name}.toml")


def rule_text(name: str, version: int = 1, threshold: int = 3) -> bytes:
    """A small sshd rule."""
    return f'''
[rule]
name = "{name}"
version = {version}
reads = "sshd"

[[scenario]]
name = "{name}"
packs = ["sshd"]
kinds = ["auth_failure"]
threshold = {threshold}
window = "1m"
local_block = "1h"
'''.encode()


@dataclass
class Council:
    """Three councillors, threshold 2, and the hub's online key."""

    seeds: list[bytes]
    hub: bytes
    threshold: int = 2

    @classmethod
    def new(cls, size: int = 3, threshold: int = 2) -> Council:
        return cls([new_seed() for _ in range(size)], new_seed(), threshold)

    @property
    def public(self) -> list[bytes]:
        return [public_key_of(s) for s in self.seeds]

    def found(self, folder: Path, now: float = NOW) -> Repository:
        return Repository.create(folder, self.public, self.threshold, self.seeds[: self.threshold],
                                 self.hub, now)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def member_source(folder: Path, url: str, repo: Repository) -> Source:
    """A member's arsenal source, bootstrapped from root v1 (what the join token carries)."""
    return Source(folder=folder, url=url, bootstrap=repo.root_bytes(1))
