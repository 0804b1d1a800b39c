"""A lab alliance for the dashboard's tests: a real hub over HTTPS on loopback, an
operator member and two ordinary members (real keys, real signed requests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec

from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.hub.server import HubServer
from shieldwall.signals.client import HubClient
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.signal import Signal
from shieldwall.ui.actions import LoginLink
from tests.integration.hub_harness import init_hub, new_member, running_hub


@dataclass
class Lab:
    """The running hub, its address and its members' states."""

    config: HubConfig
    server: HubServer
    ops: MemberState
    alice: MemberState
    bob: MemberState

    @property
    def base(self) -> str:
        """The hub's HTTPS origin."""
        return f"https://{self.config.listen}"

    async def ban(self, target: str, member: MemberState | None = None,
                  scenario: str = "manual") -> None:
        """A ban signalled by ``member`` (the operator by default: it decides at once)."""
        async with HubClient(member or self.ops) as client:
            await client.send([Signal(kind="ban", target=target, scenario=scenario,
                                      duration=3600.0)])

    async def login_path(self) -> str:
        """A one-time login path, asked for with the operator's signed request."""
        async with HubClient(self.ops) as client:
            response = await client.request("POST", "/ui/session", b"{}")
        return msgspec.json.decode(response.content, type=LoginLink).path

    def browser_client(self) -> httpx.AsyncClient:
        """A plain HTTPS client (the hub's certificate is self-signed and pinned by members;
        a browser on the hub's own host is told to accept it)."""
        return httpx.AsyncClient(base_url=self.base, verify=False, timeout=10.0)


def _with_operator(data_dir: Path) -> None:
    path = data_dir / "hub.toml"
    path.write_text(path.read_text() + '\noperators = ["ops"]\n')


@contextlib.asynccontextmanager
async def lab_alliance(tmp_path: Path) -> AsyncIterator[Lab]:
    """A hub with members ``ops`` (an operator), ``alice`` and ``bob``; it may block
    documentation addresses, which the tests use (no packet is ever sent to them)."""
    hub_dir = tmp_path / "hub"
    # `hub init` runs its own event loop: from a thread, as the operator's shell would.
    await asyncio.to_thread(init_hub, hub_dir, "--allow-reserved")
    _with_operator(hub_dir)
    config = load_hub_config(hub_dir)
    async with running_hub(config) as server:
        ops = await new_member(config, tmp_path / "ops", "ops")
        alice = await new_member(config, tmp_path / "alice", "alice")
        bob = await new_member(config, tmp_path / "bob", "bob")
        yield Lab(config, server, ops, alice, bob)
