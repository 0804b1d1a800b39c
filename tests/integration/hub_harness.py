"""Helpers for hub integration tests: a real hub over HTTPS on loopback, real members."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.hub.admin import create_invite
from shieldwall.hub.api import HubContext
from shieldwall.hub.backend import ledger_for
from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.hub.ledger.storage import Ledger
from shieldwall.hub.server import HubServer, make_server
from shieldwall.signals.client import join
from shieldwall.signals.member_state import MemberState


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def init_hub(data_dir: Path, *extra: str) -> HubConfig:
    port = free_port()
    result = CliRunner().invoke(
        cli, ["hub", "init", "--data", str(data_dir), "--listen", f"127.0.0.1:{port}", *extra]
    )
    if result.exit_code != 0:
        raise RuntimeError(f"hub init failed: {result.output} {result.exception!r}")
    return load_hub_config(data_dir)


def backend_hub(request: Any, data_dir: Path, *extra: str) -> HubConfig:
    """:func:`init_hub` on the backend a ``params=["sqlite", "postgresql"]`` fixture asked
    for: on PostgreSQL, in a new database of the test module's ``cluster`` fixture."""
    if request.param == "postgresql":
        extra = (*extra, "--database", request.getfixturevalue("cluster").new_database())
    return init_hub(data_dir, *extra)


@contextlib.asynccontextmanager
async def running_hub(
    config: HubConfig, clock: Callable[[], float] = time.time
) -> AsyncIterator[HubServer]:
    server = make_server(config, clock=clock)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("hub did not start")
            await asyncio.sleep(0.01)
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def ledger_of(config: HubConfig) -> AsyncIterator[Ledger]:
    """The hub's ledger, whichever backend its configuration names (an operator's handle)."""
    ledger = ledger_for(config)
    await ledger.open()
    try:
        yield ledger
    finally:
        await ledger.close()


async def invite(config: HubConfig, name: str = "", lifetime: float = 3600.0) -> str:
    async with ledger_of(config) as ledger:
        return await create_invite(ledger, config, name, lifetime, time.time())


async def new_member(
    config: HubConfig, data_dir: Path, name: str, owns: tuple[str, ...] = ()
) -> MemberState:
    return await join(await invite(config, name), data_dir, owns)


def hub_context(server: HubServer) -> HubContext:
    """The running hub's shared state (ledger, writer, feed, metrics)."""
    app: Any = server.config.app
    context: HubContext = app.state.hub
    return context
