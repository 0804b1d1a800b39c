"""The WSGI middleware, called the way a WSGI server calls it."""

from collections.abc import Iterable
from typing import Any

from shieldwall.enforcers.lookup import BlockLookup
from shieldwall.enforcers.wsgi import BlockWSGIMiddleware

BLOCKS = BlockLookup.from_targets(["192.0.2.7", "2001:db8::/32"])


def hello(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def call(app: BlockWSGIMiddleware, peer: str, forwarded: str | None = None) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"REMOTE_ADDR": peer, "REQUEST_METHOD": "GET", "PATH_INFO": "/"}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    return status[0], body


def test_blocked_client_gets_403() -> None:
    app = BlockWSGIMiddleware(hello, BLOCKS)
    assert call(app, "192.0.2.7") == ("403 Forbidden", b"Forbidden\n")
    assert call(app, "2001:db8::1")[0] == "403 Forbidden"
    assert call(app, "192.0.2.8") == ("200 OK", b"hello")


def test_forwarded_for_is_honoured_only_from_trusted_proxies() -> None:
    app = BlockWSGIMiddleware(hello, BLOCKS, trusted_proxies=["127.0.0.1"])
    assert call(app, "127.0.0.1", "192.0.2.7")[0] == "403 Forbidden"
    assert call(app, "127.0.0.1", "192.0.2.7, 192.0.2.8")[0] == "200 OK"
    assert call(app, "192.0.2.7", "192.0.2.8")[0] == "403 Forbidden"
    assert call(app, "192.0.2.8", "192.0.2.7")[0] == "200 OK"


def test_hostile_forwarded_values_fall_through_to_the_app() -> None:
    app = BlockWSGIMiddleware(hello, BLOCKS, trusted_proxies=["127.0.0.1"])
    for value in ("", "garbage", "192.0.2.7:99999:1", "\x00", "1" * 5000):
        assert call(app, "127.0.0.1", value)[0] == "200 OK"
