"""ASGI middleware that answers 403 to blocked clients.

A plain ASGI callable (in the manner of Starlette's ``TrustedHostMiddleware``),
usable with any ASGI framework::

    app = BlockMiddleware(app, BlocklistFile("/var/lib/shieldwall/member/exports/blocklist.txt"),
                          trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from shieldwall.enforcers.forwarded import TrustedProxies, client_address
from shieldwall.enforcers.lookup import BlockCheck

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FORBIDDEN_BODY = b"Forbidden\n"


class BlockMiddleware:
    """Refuse HTTP requests (403) and WebSocket handshakes from blocked clients."""

    def __init__(
        self,
        app: ASGIApp,
        blocks: BlockCheck,
        trusted_proxies: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.blocks = blocks
        self.trusted = TrustedProxies.parse(trusted_proxies)

    def client(self, scope: Scope) -> str | None:
        """The client address of a connection scope (``X-Forwarded-For`` if trusted)."""
        peer = scope.get("client")
        host = peer[0] if peer else None
        forwarded = [
            value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name.lower() == b"x-forwarded-for"
        ]
        return client_address(host, forwarded, self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        address = self.client(scope)
        if address is None or not self.blocks.is_blocked(address):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closing before accept makes the server answer the handshake with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(FORBIDDEN_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": FORBIDDEN_BODY})
