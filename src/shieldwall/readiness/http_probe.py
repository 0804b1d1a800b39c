"""The agent's ``/healthz`` and ``/readyz`` on a loopback port (``[readiness] listen``).

A deliberately small HTTP/1.1 responder on asyncio streams (one request per
connection, GET only, headers bounded in size and time), because the answers are
a few hundred bytes for a local monitor (systemd, a health checker, a container
probe): no framework, no dependency.

- ``/healthz``: liveness. 200 while the agent's event loop answers; the body says
  when the readiness loop last ended a round.
- ``/readyz``: readiness. 200 when no check is failing (degraded ones are listed in
  the body, as ``status --json`` shows them), 503 when one is or before the first
  round. The hub reads the same states from the heartbeat.

Only loopback addresses are accepted: the reasons name paths and the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from typing import TYPE_CHECKING

import msgspec

from shieldwall.errors import ConfigError
from shieldwall.readiness.verdict import document

if TYPE_CHECKING:
    from shieldwall.readiness.monitor import Monitor

HEAD_LIMIT = 8192
HEAD_TIMEOUT = 5.0
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` on loopback (``localhost``, ``127.0.0.1``, ``[::1]``); ConfigError else."""
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"[readiness] listen = {text!r}: give a loopback host:port, e.g."
                          " \"127.0.0.1:9571\" (the answers name paths and the hub, so they"
                          " are never served beyond this host)")
    return host, int(port)


def respond(monitor: Monitor, method: str, path: str, now: float) -> tuple[int, bytes]:
    """(status, JSON body) for one request; pure but for reading the monitor's state."""
    route = path.split("?", 1)[0]
    if route not in ("/healthz", "/readyz"):
        return 404, b'{"error":"not found: try /healthz or /readyz"}'
    if method not in ("GET", "HEAD"):
        return 405, b'{"error":"GET only"}'
    verdict = monitor.verdict
    if route == "/healthz":
        age = None if verdict is None else round(now - verdict.at, 3)
        return 200, msgspec.json.encode({"status": "ok", "last_check_age": age,
                                         "rounds": monitor.rounds})
    if verdict is None:
        return 503, b'{"state":"unknown","ready":false,"checks":[]}'
    failing = any(c.state == "failing" for c in verdict.checks)
    return (503 if failing else 200), document(verdict)


class ProbeListener:
    """Serves :func:`respond` on ``host:port``; run :meth:`serve` under supervision."""

    def __init__(self, monitor: Monitor, host: str, port: int) -> None:
        self.monitor = monitor
        self.host = host
        self.port = port

    async def serve(self) -> None:
        """Listen until cancelled."""
        server = await asyncio.start_server(self._handle, self.host, self.port,
                                            limit=HEAD_LIMIT)
        async with server:
            await server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                return
            status, body = respond(self.monitor, parts[0], parts[1], self.monitor.clock())
            writer.write(
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("ascii")
                + (b"" if parts[0] == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
