"""Reading request bodies without letting a client hold the hub's memory or its handlers.

Three bounds apply to every body the hub reads: its size (``Content-Length`` is
checked before a byte is read), the time it may take to arrive, and the bytes
all unfinished bodies may hold together (:class:`BodyBudget`). A client that
goes away mid-body ends the request quietly (no traceback, no 500): nobody is
left to answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from shieldwall.hub.problem import ProblemError


class BodyBudget:
    """How many body bytes all requests being read may hold at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        #: Requests turned away because the budget was spent (a metric).
        self.refused = 0

    def take(self, size: int) -> None:
        """Reserve ``size`` bytes or refuse with 503 (the sender retries later)."""
        if self.held + size > self.limit:
            self.refused += 1
            raise ProblemError(
                "busy", "the hub is reading too many request bodies at once; retry shortly"
            )
        self.held += size

    def give_back(self, size: int) -> None:
        """Release bytes reserved with :meth:`take`."""
        self.held -= size


def declared_length(request: Request, limit: int) -> int | None:
    """The body size the client announced, refused above ``limit`` (before reading)."""
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    if not declared.isascii() or not declared.isdigit() or len(declared) > 19:
        raise ProblemError("bad-request", "Content-Length is not a number")
    size = int(declared)
    if size > limit:
        raise ProblemError("too-large", f"body is larger than {limit} bytes")
    return size


async def read_body(
    request: Request, limit: int, budget: BodyBudget, timeout: float
) -> bytes:
    """The body, at most ``limit`` bytes, received within ``timeout`` seconds."""
    declared = declared_length(request, limit)
    reserved = 0
    try:
        if declared is not None:
            budget.take(declared)
            reserved = declared
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(timeout):
            async for chunk in _chunks(request):
                size += len(chunk)
                if size > limit:
                    raise ProblemError("too-large", f"body is larger than {limit} bytes")
                if size > reserved:
                    budget.take(size - reserved)
                    reserved = size
                chunks.append(chunk)
        return b"".join(chunks)
    except TimeoutError:
        raise ProblemError(
            "timeout", f"the request body did not arrive within {timeout:.0f}s"
        ) from None
    finally:
        budget.give_back(reserved)


async def _chunks(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise ProblemError("disconnected", "the client went away while sending its body") from None
