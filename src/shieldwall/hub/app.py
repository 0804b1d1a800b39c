"""The hub as an ASGI application: routes, error handling and lifespan.

The lifespan opens the ledger, rebuilds the policy from it and starts the single
writer; everything a request needs hangs off ``app.state.hub``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shieldwall.decisions.feed import Feed
from shieldwall.drills.hub_routes import ROUTES as DRILL_ROUTES
from shieldwall.drills.hub_routes import drills_lifespan
from shieldwall.hub import admitted, api, arsenal_api, join
from shieldwall.hub.backend import replicated
from shieldwall.hub.body import BodyBudget
from shieldwall.hub.config import HubConfig
from shieldwall.hub.disputes_api import post_dispute
from shieldwall.hub.governance_api import ROUTES as COUNCIL_ROUTES
from shieldwall.hub.governance_api import council_lifespan
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.openapi import openapi_document
from shieldwall.hub.problem import ProblemError, problem_response
from shieldwall.hub.proxies_api import post_proxies
from shieldwall.hub.roster_api import post_heartbeat, roster_lifespan
from shieldwall.hub.writer import Writer
from shieldwall.signals.keys import public_key_of
from shieldwall.ui.context import ui_context
from shieldwall.ui.routes import ui_mount

log = logging.getLogger(__name__)


def create_app(
    config: HubConfig, clock: Callable[[], float] = time.time, metrics: HubMetrics | None = None
) -> Starlette:
    """The hub app for ``config``; serve it over TLS (see :mod:`shieldwall.hub.server`)."""
    metrics = metrics or HubMetrics()
    openapi = msgspec.json.encode(openapi_document())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if replicated(config):  # PostgreSQL: one of several replicas (see hub.replication)
            from shieldwall.hub.replication import replica_context

            async with replica_context(config, metrics, clock) as context:
                app.state.hub = context
                yield
            return
        ledger = SQLiteLedger(config.ledger_path)
        await ledger.open()
        try:
            # Never serve a damaged log or one that went back behind what members saw.
            await ledger.check_integrity()
        except BaseException:
            await ledger.close()
            raise
        feed = Feed(ledger.decisions_after, page_size=config.page_size)
        await feed.start(await ledger.head())
        writer = Writer(
            ledger, config.policy(), config.protections(), feed, metrics, clock,
            signals_per_hour=config.signals_per_hour, retention=config.retention,
            operators=frozenset(config.operators),
        )
        await writer.start()
        seed = (config.data_dir / IDENTITY_FILE).read_bytes()
        app.state.hub = api.HubContext(
            config=config, ledger=ledger, writer=writer, feed=feed, metrics=metrics,
            hub_key=public_key_of(seed), clock=clock, budget=BodyBudget(config.body_budget),
        )
        try:
            yield
        finally:
            feed.close()
            await writer.stop()
            await ledger.close()

    @contextlib.asynccontextmanager
    async def with_roster(app: Starlette) -> AsyncIterator[None]:
        # readiness roster; the council (its gate is closed until it read the act log)
        async with lifespan(app), roster_lifespan(app, config), council_lifespan(app), \
                drills_lifespan(app):
            yield

    async def get_openapi(request: Request) -> Response:
        return Response(openapi, media_type="application/json")

    async def on_problem(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, ProblemError):  # registered for ProblemError only
            raise exc
        metrics.http_errors[exc.status] += 1
        return problem_response(exc.reason, exc.detail, exc.status)

    async def on_http(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, HTTPException):  # registered for HTTPException only
            raise exc
        reason = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "bad-request")
        metrics.http_errors[exc.status_code] += 1
        return problem_response(reason, str(exc.detail), exc.status_code)

    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        metrics.http_errors[500] += 1
        return problem_response("internal", "the hub failed unexpectedly; see its log", 500)

    routes = [
        Route("/v1/signals", api.post_signals, methods=["POST"]),
        Route("/v1/decisions", api.get_decisions, methods=["GET"]),
        Route("/v1/decisions/stream", api.stream_decisions, methods=["GET"]),
        Route("/v1/join", join.post_join, methods=["POST"]),
        Route("/v1/join/admitted", admitted.post_admitted_join, methods=["POST"]),
        Route("/v1/leave", api.post_leave, methods=["POST"]),
        Route("/v1/disputes", post_dispute, methods=["POST"]),
        Route("/v1/heartbeat", post_heartbeat, methods=["POST"]),
        Route("/v1/proxies", post_proxies, methods=["POST"]),
        Route("/metrics", api.get_metrics, methods=["GET"]),
        Route("/healthz", api.get_health, methods=["GET"]),
        Route("/readyz", api.get_ready, methods=["GET"]),
        Route("/openapi.json", get_openapi, methods=["GET"]),
        *COUNCIL_ROUTES,
        *DRILL_ROUTES,
        *arsenal_api.ROUTES,
        ui_mount(),
    ]
    app = Starlette(
        routes=routes,
        lifespan=with_roster,
        exception_handlers={
            ProblemError: on_problem,
            HTTPException: on_http,
            Exception: on_error,
        },
    )
    app.state.ui = ui_context(config, app.state)
    return app
