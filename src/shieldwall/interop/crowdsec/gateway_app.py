"""The gateway process: CrowdSec's watcher API in front of this member's hub link.

The lifespan opens the machines table, the outbox and the token secret, and
starts the one background task, the supervised sender of the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request

from shieldwall.addresses import IPNetwork, Labelled, Ranges, parse_ranges
from shieldwall.agent.host import host_addresses
from shieldwall.agent.supervise import Supervisor
from shieldwall.interop.crowdsec.bouncer_api import mounted
from shieldwall.interop.crowdsec.machines import Machines, gateway_secret
from shieldwall.interop.crowdsec.outbox import open_outbox, send_outbox
from shieldwall.interop.crowdsec.watcher_api import Gateway, watcher_routes
from shieldwall.signals.member_state import MemberState


def member_allowlist(entries: Iterable[str], own: Iterable[IPNetwork] = ()) -> Ranges:
    """This member's allowlist (the agent's ``detection.allow`` and ``enforce.allow``)
    plus this host's own addresses: targets the gateway never reports."""
    listed = parse_ranges(list(entries), "allowlist")
    return listed.with_entries(Labelled(net, "this host's address") for net in own)


def create_gateway_app(
    data_dir: Path, member: MemberState, *, allow: Iterable[str] = (), ipv6_prefix: int = 64,
    prefix: str = "", clock: Callable[[], float] = time.time, own_addresses: bool = True,
) -> Starlette:
    """The gateway for the member whose state is ``member`` (data in ``data_dir``)."""
    allowlist = member_allowlist(allow, host_addresses() if own_addresses else ())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        outbox = open_outbox(data_dir)
        gateway = Gateway(
            machines=Machines(data_dir), outbox=outbox, secret=gateway_secret(data_dir),
            wake=asyncio.Event(), allowed=allowlist.covers, ipv6_prefix=ipv6_prefix,
        )
        if outbox.backlog():
            gateway.wake.set()
        supervisor = Supervisor()
        supervisor.start("hub.send", lambda: send_outbox(member, outbox, gateway.wake))
        app.state.gateway, app.state.supervisor = gateway, supervisor
        try:
            yield
        finally:
            await supervisor.stop()
            outbox.close()
            gateway.machines.close()

    def gateway_of(request: Request) -> Gateway:
        gateway: Gateway = request.app.state.gateway
        return gateway

    return Starlette(routes=mounted(prefix, watcher_routes(gateway_of, clock)), lifespan=lifespan)
