"""The watcher half of CrowdSec's Local API: what a log processor (crowdsec 1.4.6) calls.

``POST /v1/watchers/login`` (password in, bearer token and ``expire`` out),
``POST /v1/watchers`` (``cscli lapi register``: pending until validated),
``POST /v1/alerts`` (each alert becomes a signal of this member, queued durably
before the answer), ``GET /v1/heartbeat``, and what newer agents also call
(``POST /v1/usage-metrics``, ``GET /v1/allowlists``), answered harmlessly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shieldwall.agent.state import AgentState
from shieldwall.errors import ConfigError
from shieldwall.interop.crowdsec import tokens
from shieldwall.interop.crowdsec.alerts import Alert, Skipped, signal_of
from shieldwall.interop.crowdsec.machines import Machines
from shieldwall.signals.signal import Signal

log = logging.getLogger("shieldwall.crowdsec.gateway")

TOKEN_LIFETIME = 3600.0
MAX_LOGIN_BODY = 16 << 10
MAX_ALERTS_BODY = 16 << 20
MAX_ALERTS = 10_000


class LoginRequest(msgspec.Struct, frozen=True):
    """``models.WatcherAuthRequest`` (and ``WatcherRegistrationRequest``)."""

    machine_id: str
    password: str
    scenarios: list[str] | None = None


@dataclass
class Gateway:
    """What the watcher routes need; built by the app's lifespan."""

    machines: Machines
    outbox: AgentState
    secret: bytes
    wake: asyncio.Event
    allowed: Callable[[str], bool]
    ipv6_prefix: int = 64
    counts: Counter[str] = field(default_factory=Counter)


_encoder = msgspec.json.Encoder()


def _json(value: object, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status, media_type="application/json")


def _unauthorized(message: str) -> Response:
    return _json({"code": 401, "message": message}, 401)


async def _body(request: Request, limit: int) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def watcher_routes(gateway_of: Callable[[Request], Gateway],
                   clock: Callable[[], float]) -> list[BaseRoute]:
    """The routes; ``gateway_of`` finds the :class:`Gateway` (set up by a lifespan)."""

    def machine_of(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        gateway = gateway_of(request)
        name = tokens.verify(gateway.secret, token.strip(), clock())
        return name if name is not None and gateway.machines.active(name) else None

    async def credentials(request: Request) -> LoginRequest | Response:
        raw = await _body(request, MAX_LOGIN_BODY)
        if raw is None:
            return _json({"message": "body too large"}, 413)
        try:
            return msgspec.json.decode(raw, type=LoginRequest)
        except msgspec.DecodeError as exc:
            return _json({"message": f"invalid request: {exc}"}, 400)

    async def login(request: Request) -> Response:
        gateway = gateway_of(request)
        creds = await credentials(request)
        if isinstance(creds, Response):
            return creds
        ok = await asyncio.to_thread(gateway.machines.check, creds.machine_id, creds.password)
        if not ok:
            gateway.counts["login.refused"] += 1
            return _unauthorized("incorrect Username or Password")
        now = clock()
        gateway.machines.seen(creds.machine_id, now)
        expire = dt.datetime.fromtimestamp(int(now + TOKEN_LIFETIME), dt.UTC)
        return _json({
            "code": 200,
            "expire": expire.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "token": tokens.issue(gateway.secret, creds.machine_id, now, TOKEN_LIFETIME),
        })

    async def register(request: Request) -> Response:
        creds = await credentials(request)
        if isinstance(creds, Response):
            return creds
        try:
            await asyncio.to_thread(gateway_of(request).machines.add, creds.machine_id, clock(),
                                    creds.password, validated=False)
        except ConfigError as exc:  # the name is taken or not acceptable
            return _json({"message": str(exc)}, 403)
        log.info("machine %s registered, pending: shieldwall crowdsec machine validate %s",
                 creds.machine_id, creds.machine_id)
        return Response(status_code=201)

    async def alerts(request: Request) -> Response:
        gateway = gateway_of(request)
        machine = machine_of(request)
        if machine is None:
            return _unauthorized("token missing, invalid or expired")
        raw = await _body(request, MAX_ALERTS_BODY)
        if raw is None:
            return _json({"message": "body too large"}, 413)
        try:
            posted = msgspec.json.decode(raw, type=list[Alert])
        except msgspec.DecodeError as exc:
            return _json({"message": f"invalid alerts: {exc}"}, 400)
        if len(posted) > MAX_ALERTS:
            return _json({"message": f"more than {MAX_ALERTS} alerts"}, 400)
        now = clock()
        signals: list[Signal] = []
        for alert in posted:
            made = signal_of(alert, now=now, ipv6_prefix=gateway.ipv6_prefix,
                             allowed=gateway.allowed)
            if isinstance(made, Skipped):
                gateway.counts[f"skipped.{made.reason.split(':')[0]}"] += 1
                log.info("alert %s from %s not signalled: %s", alert.scenario[:80], machine,
                         made.reason)
                continue
            signals.append(made)
            log.info("alert %s from %s: signal %s %s (%d events)", alert.scenario[:80], machine,
                     made.scenario, made.target, made.count)
        if signals:
            # Durable before the answer: an acknowledged alert is never lost.
            gateway.outbox.queue(signals)
            gateway.wake.set()
        gateway.counts["alerts"] += len(posted)
        gateway.counts["signals"] += len(signals)
        gateway.machines.seen(machine, now, len(posted))
        base = int(now * 1000)
        return _json([str(base + i) for i in range(len(posted))], 201)

    async def heartbeat(request: Request) -> Response:
        machine = machine_of(request)
        if machine is None:
            return _unauthorized("token missing, invalid or expired")
        gateway_of(request).machines.seen(machine, clock())
        return Response(status_code=200)

    async def usage_metrics(request: Request) -> Response:
        if machine_of(request) is None:
            return _unauthorized("token missing, invalid or expired")
        if await _body(request, 1 << 20) is None:
            return _json({"message": "body too large"}, 413)
        return _json({}, 201)

    async def allowlists(request: Request) -> Response:
        # Newer agents fetch CrowdSec-side allowlists; Shieldwall's live on the member.
        if machine_of(request) is None:
            return _unauthorized("token missing, invalid or expired")
        return _json([])

    return [
        Route("/v1/watchers/login", login, methods=["POST"]),
        Route("/v1/watchers", register, methods=["POST"]),
        Route("/v1/alerts", alerts, methods=["POST"]),
        Route("/v1/heartbeat", heartbeat, methods=["GET", "HEAD"]),
        Route("/v1/usage-metrics", usage_metrics, methods=["POST"]),
        Route("/v1/allowlists", allowlists, methods=["GET"]),
    ]
