"""The agent's /healthz and /readyz: routes, states, loopback only, hostile requests."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import msgspec
import pytest

from shieldwall.errors import ConfigError
from shieldwall.readiness.http_probe import ProbeListener, parse_listen, respond
from shieldwall.readiness.verdict import Check, State, Verdict


class FakeMonitor:
    """Only what the responder reads of a :class:`Monitor`: its last verdict and clock."""

    def __init__(self, *states: State) -> None:
        self.verdict = (Verdict(at=100.0, checks=tuple(Check(f"R{i + 1}", "c", s, "why")
                                                        for i, s in enumerate(states)))
                        if states else None)
        self.rounds = 1 if states else 0

    def clock(self) -> float:
        return 101.5


def answer(monitor: Any, path: str, method: str = "GET") -> tuple[int, Any]:
    status, body = respond(monitor, method, path, 101.5)
    return status, msgspec.json.decode(body)


@pytest.mark.parametrize("text", ["127.0.0.1:9571", "localhost:9571", "[::1]:9571"])
def test_loopback_addresses_are_accepted(text: str) -> None:
    assert parse_listen(text)[1] == 9571


@pytest.mark.parametrize("text", ["0.0.0.0:9571", "192.0.2.1:9571", "example.org:80",
                                  "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999"])
def test_anything_beyond_loopback_or_without_a_port_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        parse_listen(text)


def test_readyz_is_503_before_the_first_round_and_healthz_is_200() -> None:
    assert answer(FakeMonitor(), "/readyz")[0] == 503
    status, body = answer(FakeMonitor(), "/healthz")
    assert status == 200 and body["last_check_age"] is None


def test_readyz_is_200_with_degraded_checks_listed_and_503_with_a_failing_one() -> None:
    status, body = answer(FakeMonitor("ok", "degraded"), "/readyz")
    assert status == 200 and body["state"] == "degraded" and len(body["checks"]) == 2
    assert answer(FakeMonitor("ok", "failing"), "/readyz?x=1")[0] == 503
    assert answer(FakeMonitor("ok"), "/healthz")[1]["last_check_age"] == 1.5


def test_other_paths_and_methods_are_refused() -> None:
    assert answer(FakeMonitor("ok"), "/metrics")[0] == 404
    assert answer(FakeMonitor("ok"), "/readyz", "POST")[0] == 405


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    return data


async def test_the_listener_answers_over_a_real_socket_and_drops_garbage() -> None:
    port = free_port()
    listener = ProbeListener(FakeMonitor("ok"), "127.0.0.1", port)  # type: ignore[arg-type]
    task = asyncio.create_task(listener.serve())
    try:
        for _ in range(100):
            try:
                reply = await exchange(port, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                break
            except ConnectionRefusedError:
                await asyncio.sleep(0.02)
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and b'"ready": true' in reply
        head = await exchange(port, b"HEAD /healthz HTTP/1.1\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")
        assert await exchange(port, b"NONSENSE\r\n\r\n") == b""
        assert await exchange(port, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n") == b""
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
