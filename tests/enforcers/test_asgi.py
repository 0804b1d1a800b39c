"""The ASGI middleware in front of a real Starlette app, driven through httpx's ASGI transport."""

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from shieldwall.enforcers.asgi import BlockMiddleware
from shieldwall.enforcers.lookup import BlockLookup

BLOCKS = BlockLookup.from_targets(["192.0.2.7", "198.51.100.0/24", "2001:db8::/32"])


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hi")
    await websocket.close()


def app_with(proxies: list[str]) -> BlockMiddleware:
    inner = Starlette(routes=[Route("/", hello), WebSocketRoute("/ws", echo)])
    return BlockMiddleware(inner, BLOCKS, trusted_proxies=proxies)


async def get(app: BlockMiddleware, peer: str, headers: dict[str, str] | None = None) -> int:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://member") as client:
        response = await client.get("/", headers=headers)
    if response.status_code == 403:
        assert response.text == "Forbidden\n"
    return response.status_code


async def test_blocked_client_gets_403_and_others_get_through() -> None:
    app = app_with([])
    assert await get(app, "192.0.2.7") == 403
    assert await get(app, "198.51.100.200") == 403
    assert await get(app, "2001:db8::5") == 403
    assert await get(app, "192.0.2.8") == 200


async def test_forwarded_header_from_an_untrusted_peer_cannot_unblock_or_frame() -> None:
    app = app_with(["10.0.0.0/8"])
    assert await get(app, "192.0.2.7", {"X-Forwarded-For": "192.0.2.8"}) == 403
    assert await get(app, "192.0.2.8", {"X-Forwarded-For": "192.0.2.7"}) == 200


async def test_forwarded_header_from_a_trusted_proxy_names_the_client() -> None:
    app = app_with(["10.0.0.0/8"])
    assert await get(app, "10.0.0.1", {"X-Forwarded-For": "192.0.2.7"}) == 403
    assert await get(app, "10.0.0.1", {"X-Forwarded-For": "192.0.2.8"}) == 200


async def test_client_cannot_hide_behind_a_forged_left_part() -> None:
    app = app_with(["10.0.0.0/8"])
    headers = {"X-Forwarded-For": "192.0.2.8, 10.0.0.3, 192.0.2.7"}
    assert await get(app, "10.0.0.1", headers) == 403


async def test_hostile_header_values_do_not_break_the_app() -> None:
    app = app_with(["10.0.0.0/8"])
    for value in ("", ",,,", "x" * 10000, "192.0.2.7\t", "::ffff:192.0.2.7", "[::1"):
        assert await get(app, "10.0.0.1", {"X-Forwarded-For": value}) in (200, 403)
    assert await get(app, "10.0.0.1", {"X-Forwarded-For": "::ffff:192.0.2.7"}) == 403


async def test_blocked_websocket_handshake_is_closed_before_accept() -> None:
    called = []

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        called.append(scope["client"][0])

    sent: list[dict[str, object]] = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    app = BlockMiddleware(inner, BLOCKS)
    for peer in ("192.0.2.7", "192.0.2.8"):
        scope = {"type": "websocket", "client": (peer, 1), "headers": [], "path": "/ws"}
        await app(scope, None, send)  # type: ignore[arg-type]
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert called == ["192.0.2.8"]


async def test_lifespan_passes_through() -> None:
    seen = []

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["type"])

    await BlockMiddleware(inner, _Everyone())({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


class _Everyone:
    def is_blocked(self, address: str) -> bool:
        return True
