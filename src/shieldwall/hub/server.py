"""Serving the hub over HTTPS with uvicorn.

uvicorn rather than granian: the hub must be one process with one event loop,
because the single ledger writer and the in-process fan-out to SSE streams live
there; granian's speed comes from several worker processes, which would split
both. uvicorn runs in the caller's loop (tests start it in-process), terminates
TLS with the stdlib ``ssl`` module, and streams SSE responses without buffering.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
import sys
import time
from collections.abc import Callable, Generator
from types import FrameType

import uvicorn

from shieldwall.hub.app import create_app
from shieldwall.hub.config import HubConfig, split_host_port
from shieldwall.hub.connections import header_deadline_protocol
from shieldwall.hub.identity import CERT_FILE, KEY_FILE
from shieldwall.hub.metrics import HubMetrics

#: At shutdown, how long a closed TLS connection may wait for the peer's close_notify
#: before it is dropped. Members answer at once when they read the socket; an idle
#: pooled connection, or one whose stream just ended, is not read until the member
#: next uses it, which can be never before the hub exits.
CLOSE_NOTIFY_GRACE = 0.2


class HubServer(uvicorn.Server):
    """uvicorn's server, ending the hub's event streams as soon as shutdown starts.

    Without this, uvicorn would wait for the (never-ending) SSE responses until its
    graceful-shutdown timeout and then cancel them mid-write.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit
        self._loop: asyncio.AbstractEventLoop | None = None

    #: Set when the hub runs inside another program's event loop (``shieldwall up``):
    #: that program owns SIGINT/SIGTERM, so uvicorn must not take them over.
    embedded: bool = False

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if self.embedded:
            yield
            return
        with super().capture_signals():
            yield

    def stop(self) -> None:
        """Shut down from inside the event loop (``shieldwall up``): end the streams and
        long polls first, as a signal would."""
        self._on_exit()
        self.should_exit = True

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_exit)
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        dropping = asyncio.ensure_future(self._drop_unanswered_closes())
        try:
            await super().shutdown(sockets)
        finally:
            dropping.cancel()

    async def _drop_unanswered_closes(self) -> None:
        """Abort TLS connections that have sent everything and only wait for the peer.

        Closing a TLS transport sends close_notify and then waits for the peer's, up
        to the event loop's SSL shutdown timeout (30 s); the connection stays in
        uvicorn's set until then. uvicorn waits for that set to empty, so one member
        that did not read its ended stream or its idle keep-alive connection held the
        shutdown until the 1 s graceful timeout, logged as an ERROR ("Cancel 0
        running task(s)"). Such a connection has handed all it wrote to the socket (at
        worst a member on a congested link loses the stream's last bytes); the member
        reconnects from its cursor, as it does when the hub goes away. Connections
        still answering a request are left to uvicorn's own timeout.
        """
        loop = asyncio.get_running_loop()
        closing_since: dict[object, float] = {}
        while True:
            now = loop.time()
            for connection in list(self.server_state.connections):
                transport = connection.transport
                if not transport.is_closing() or transport.get_write_buffer_size():
                    continue
                if now - closing_since.setdefault(connection, now) >= CLOSE_NOTIFY_GRACE:
                    transport.abort()
            await asyncio.sleep(0.05)


def make_server(
    config: HubConfig, listen: str | None = None, clock: Callable[[], float] = time.time,
    log_level: str = "warning",
) -> HubServer:
    """A uvicorn server for the hub, not yet started (``await server.serve()``)."""
    host, port = split_host_port(listen or config.listen)
    metrics = HubMetrics()
    app = create_app(config, clock, metrics)

    def end_streams() -> None:
        hub = getattr(app.state, "hub", None)
        if hub is not None:
            hub.feed.close()
        drills = getattr(app.state, "drills", None)
        if drills is not None:
            drills.close()  # members' long polls for drill orders

    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=str(config.data_dir / CERT_FILE),
        ssl_keyfile=str(config.data_dir / KEY_FILE),
        log_level=log_level,
        lifespan="on",
        access_log=False,
        # SSE streams never end on their own; do not wait long for them at shutdown.
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
        server_header=False,
        # Slow-loris bounds: a deadline for headers (bodies: hub.body), and a cap on
        # connections below the unit's LimitNOFILE, beyond which requests get a 503.
        http=header_deadline_protocol(config.header_timeout, metrics),
        limit_concurrency=config.max_connections,
    )
    return HubServer(uv_config, end_streams)


#: GIL switch interval for the hub process. The ledger's writer thread gives the GIL
#: up for every row it inserts (sqlite3 releases it around each step) and must win it
#: back from the busy event loop; at Python's default 5 ms it waits most of that time.
#: Measured on the benchmark: ~14k rows/s at 5 ms, ~80k at 0.2 ms, under contention.
HUB_SWITCH_INTERVAL = 0.0002


#: Young-generation GC threshold for the hub process. The policy keeps one small
#: object per active block; with Python's default (700) the collector rescans them so
#: often that it took ~45% of the time spent deciding (measured: 9.6 -> 5.9 us/decision).
HUB_GC_THRESHOLD = (100_000, 50, 100)


def serve(config: HubConfig, listen: str | None = None) -> None:
    """Run the hub until interrupted."""
    sys.setswitchinterval(HUB_SWITCH_INTERVAL)
    gc.set_threshold(*HUB_GC_THRESHOLD)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    make_server(config, listen, log_level="info").run()
