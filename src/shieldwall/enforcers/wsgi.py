"""WSGI middleware that answers 403 to blocked clients (Flask, Django, any WSGI app)::

app.wsgi_app = BlockWSGIMiddleware(app.wsgi_app, BlocklistFile(path),
                                   trusted_proxies=["127.0.0.1"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shieldwall.enforcers.forwarded import TrustedProxies, client_address
from shieldwall.enforcers.lookup import BlockCheck

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

FORBIDDEN_BODY = b"Forbidden\n"


class BlockWSGIMiddleware:
    """Refuse requests from blocked clients with 403 before the app sees them."""

    def __init__(self, app: WSGIApp, blocks: BlockCheck, trusted_proxies: Iterable[str] = ()):
        self.app = app
        self.blocks = blocks
        self.trusted = TrustedProxies.parse(trusted_proxies)

    def client(self, environ: dict[str, Any]) -> str | None:
        """The client address of a request (``X-Forwarded-For`` only from trusted peers)."""
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        return client_address(environ.get("REMOTE_ADDR"), [forwarded] if forwarded else [], self.trusted)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        address = self.client(environ)
        if address is not None and self.blocks.is_blocked(address):
            start_response(
                "403 Forbidden",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(FORBIDDEN_BODY))),
                ],
            )
            return [FORBIDDEN_BODY]
        return self.app(environ, start_response)
