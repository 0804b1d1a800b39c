"""The bouncer half of CrowdSec's Local API, served from this member's block store.

Routes (under an optional prefix): ``GET``/``HEAD`` ``/v1/decisions/stream`` and
``/v1/decisions``, ``POST /v1/usage-metrics`` (accepted, ignored) and
``GET /health``. A missing or unknown ``X-Api-Key`` gets CrowdSec's
``403 {"message":"access forbidden"}``. ``HEAD`` answers 200 without reading
or moving the bouncer's cursor (CrowdSec 1.4.6 moved it and lost updates).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shieldwall.interop.crowdsec.bouncer_feed import BouncerFeed
from shieldwall.interop.crowdsec.delta import query_answer
from shieldwall.interop.crowdsec.filters import FilterError, parse_bool, query_filter, stream_filter

log = logging.getLogger("shieldwall.crowdsec.bouncers")

_encoder = msgspec.json.Encoder()
FORBIDDEN = b'{"message":"access forbidden"}'
MAX_METRICS_BODY = 1 << 20


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status, media_type="application/json")


def _error(message: str, status: int) -> Response:
    return _json(_encoder.encode({"message": message}), status)


def bouncer_routes(feed_of: Callable[[Request], BouncerFeed],
                   clock: Callable[[], float]) -> list[BaseRoute]:
    """The routes; ``feed_of`` finds the :class:`BouncerFeed` (set up by a lifespan)."""

    def authenticated(request: Request) -> str | None:
        return feed_of(request).journal.authenticate(request.headers.get("x-api-key"))

    async def stream(request: Request) -> Response:
        feed = feed_of(request)
        name = authenticated(request)
        if name is None:
            return _json(FORBIDDEN, 403)
        if request.method == "HEAD":
            return Response(status_code=200)
        user_agent = request.headers.get("user-agent", "")
        try:
            flt = stream_filter(request.query_params, user_agent)
            startup = parse_bool(request.query_params, "startup", False)
        except FilterError as exc:
            return _error(str(exc), 400)
        now = clock()
        feed.refresh(now)
        answer = feed.journal.pull(name, startup=startup, flt=flt, now=now, user_agent=user_agent)
        if answer.new or answer.deleted:
            log.info("bouncer %s: %d new, %d deleted%s", name, len(answer.new),
                     len(answer.deleted), " (startup)" if startup else "")
        if startup and answer.withheld:
            log.warning("bouncer %s (%s) is not sent %d range blocks: it would enforce each as "
                        "its first address only", name, user_agent[:60], answer.withheld)
        return _json(_encoder.encode(answer.body()))

    async def decisions(request: Request) -> Response:
        feed = feed_of(request)
        if authenticated(request) is None:
            return _json(FORBIDDEN, 403)
        try:
            flt = query_filter(request.query_params)
        except FilterError as exc:
            return _error(str(exc), 400)
        if request.method == "HEAD":
            return Response(status_code=200)
        now = clock()
        feed.refresh(now)
        found = query_answer(feed.journal.live.values(), flt, now)
        # CrowdSec answers `null`, not `[]`, when nothing matches (a nil Go slice).
        return _json(_encoder.encode(found or None))

    async def usage_metrics(request: Request) -> Response:
        if authenticated(request) is None:
            return _json(FORBIDDEN, 403)
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_METRICS_BODY:
                return _error("body too large", 413)
        return _json(b"{}", 201)

    async def health(request: Request) -> Response:
        return _json(b'{"status":"up"}')

    return [
        Route("/v1/decisions/stream", stream, methods=["GET", "HEAD"]),
        Route("/v1/decisions", decisions, methods=["GET", "HEAD"]),
        Route("/v1/usage-metrics", usage_metrics, methods=["POST"]),
        Route("/health", health, methods=["GET", "HEAD"]),
    ]


def create_bouncer_app(
    data_dir: Path, *, prefix: str = "", clock: Callable[[], float] = time.time,
) -> Starlette:
    """An app serving bouncers from the block store in ``data_dir``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.bouncers = BouncerFeed(data_dir)
        try:
            yield
        finally:
            app.state.bouncers.close()

    def feed_of(request: Request) -> BouncerFeed:
        feed: BouncerFeed = request.app.state.bouncers
        return feed

    return Starlette(routes=mounted(prefix, bouncer_routes(feed_of, clock)), lifespan=lifespan)


def mounted(prefix: str, routes: list[BaseRoute]) -> list[BaseRoute]:
    """``routes`` under ``prefix`` (``""`` or ``/`` for none)."""
    from starlette.routing import Mount

    clean = "/" + prefix.strip("/")
    return routes if clean == "/" else [Mount(clean, routes=routes)]
