"""The hub's HTTP connections: a deadline for request headers (slow-loris bound).

uvicorn closes idle keep-alive connections but gives a connection that sends
its headers one byte a minute all the time it wants: a thousand of them held
every file descriptor the hub had, and nothing was logged. Here every request's
headers must arrive within ``header_timeout`` seconds of the connection (or of
the previous response); otherwise the connection is closed, counted in
``shieldwall_http_header_timeouts_total`` and logged (at most once a minute).
Bodies get their own deadline in :mod:`shieldwall.hub.body`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shieldwall.hub.metrics import HubMetrics

log = logging.getLogger(__name__)
LOG_EVERY = 60.0


def header_deadline_protocol(
    header_timeout: float, metrics: HubMetrics
) -> type[HttpToolsProtocol]:
    """An HTTP protocol class for uvicorn's ``http=`` option with the header deadline."""
    last_logged = [0.0]

    class DeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # a new request begins on a kept-alive connection
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(header_timeout, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            metrics.header_timeouts += 1
            now = time.monotonic()
            if now - last_logged[0] >= LOG_EVERY:
                last_logged[0] = now
                log.warning(
                    "closed a connection from %s whose request headers did not arrive within"
                    " %.0fs (%d such connections so far; slow clients or a slow-loris attack)",
                    self.client[0] if self.client else "?", header_timeout,
                    metrics.header_timeouts,
                )
            self.transport.close()

    return DeadlineProtocol
