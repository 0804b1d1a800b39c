"""The hub's HTTP endpoints: thin handlers over the envelope rules, writer and feed.

Every member request is authenticated from its headers before its body is read
(see :mod:`shieldwall.signals.request_signature`), every body is read within the
bounds of :mod:`shieldwall.hub.body`, and Shieldwall errors become RFC 9457
problems; nothing here decides policy. Joining lives in :mod:`shieldwall.hub.join`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shieldwall.decisions.codec import DecisionPage, encode_page, parse_cursor, retry_frame
from shieldwall.decisions.feed import Feed
from shieldwall.errors import HubError, SignalError
from shieldwall.hub.body import BodyBudget, read_body
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.storage import Ledger, MemberRecord
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.writer import Writer
from shieldwall.signals.envelope import decode_envelope, verify_envelope
from shieldwall.signals.keys import MemberKey
from shieldwall.signals.request_signature import check_body, verify_request

if TYPE_CHECKING:
    from shieldwall.hub.replication import ReplicaDesk

MAX_PAGE = 1000


class LeaveResponse(msgspec.Struct, frozen=True):
    """Confirmation that the member's key is revoked."""

    name: str
    left: bool = True


@dataclass
class HubContext:
    """What the handlers share: one per running hub process."""

    config: HubConfig
    ledger: Ledger
    #: The single writer; on PostgreSQL, the replica's desk (leader or follower).
    writer: Writer | ReplicaDesk
    feed: Feed
    metrics: HubMetrics
    hub_key: bytes
    clock: Callable[[], float]
    budget: BodyBudget


def hub_of(request: Request) -> HubContext:
    """The context stored on the app."""
    context: HubContext = request.app.state.hub
    return context


def json_response(data: bytes, status: int = 200) -> Response:
    """A JSON response from encoded bytes."""
    return Response(data, status_code=status, media_type="application/json")


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body within the hub's size, time and memory bounds."""
    hub = hub_of(request)
    return await read_body(request, limit, hub.budget, hub.config.body_timeout)


def member_key(record: MemberRecord | None) -> MemberKey | None:
    """The signing key view of a member record."""
    if record is None:
        return None
    return MemberKey(record.name, record.key_id, record.public_key, revoked=not record.active)


def request_target(request: Request) -> str:
    """Path plus query exactly as sent (what the member signed)."""
    path = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    query = request.scope.get("query_string", b"")
    text = bytes(path).decode("latin-1")
    return f"{text}?{query.decode('latin-1')}" if query else text


async def authenticate(request: Request) -> MemberRecord:
    """The member that signed this request, from its headers alone; 401 otherwise.

    The body is not read yet: pass it to :func:`signed_body` afterwards.
    """
    hub = hub_of(request)
    key_id = request.headers.get("x-shieldwall-key", "")
    record = await hub.ledger.member_by_key(key_id) if 0 < len(key_id) <= 64 else None
    key = member_key(record)
    try:
        verify_request(
            request.headers, request.method, request_target(request), None,
            lambda _k: key, hub.clock(),
        )
    except SignalError as exc:
        # Counted in the aggregate only: the key id is public, so a stranger's failed
        # attempt must not raise the member's own rejected count.
        hub.metrics.rejected[exc.reason] += 1
        raise ProblemError(exc.reason, str(exc), 401) from None
    if record is None:  # pragma: no cover - verify_request refuses unknown keys
        raise ProblemError("unknown-key", "unknown member", 401)
    return record


async def signed_body(request: Request, limit: int) -> bytes:
    """Read the body of an authenticated request and check it against its signed hash."""
    body = await bounded_body(request, limit)
    try:
        check_body(request.headers, body)
    except SignalError as exc:
        hub_of(request).metrics.rejected[exc.reason] += 1
        raise ProblemError(exc.reason, str(exc), 401) from None
    return body


async def post_signals(request: Request) -> Response:
    """Accept one signed envelope; answer only once it is durable."""
    hub = hub_of(request)
    record = await authenticate(request)
    quota = hub.writer.over_quota(record.name)
    if quota is not None:
        # Before the body: a member past its quota costs the hub one signature check.
        hub.metrics.quota["signals"] += 1
        raise ProblemError("quota", quota)
    raw = await signed_body(request, hub.config.max_body)
    try:
        envelope = decode_envelope(raw)
        if envelope.key_id != record.key_id:
            raise SignalError("forged", "the envelope is not signed by the request's member")
        opened = verify_envelope(envelope, member_key(record), hub.clock(), check_time=False)
    except SignalError as exc:
        hub.metrics.rejected[exc.reason] += 1
        hub.writer.note_rejection(record.name)  # the request itself was the member's
        raise ProblemError(exc.reason, str(exc)) from None
    try:
        ack = await hub.writer.submit(opened)
    except SignalError as exc:
        raise ProblemError(exc.reason, str(exc)) from None
    except HubError as exc:
        raise ProblemError("unavailable", str(exc)) from None
    return json_response(msgspec.json.encode(ack))


def _query_int(request: Request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = parse_cursor(raw)
    except ValueError as exc:
        raise ProblemError("bad-request", f"{name}: {exc}") from None
    if value > high:
        raise ProblemError("bad-request", f"{name} must be at most {high}")
    return value


async def get_decisions(request: Request) -> Response:
    """A page of decisions after ``after`` (for catching up without a stream)."""
    hub = hub_of(request)
    member = await authenticate(request)
    await signed_body(request, 0)
    after = _query_int(request, "after", 0, 2**63 - 1)
    limit = max(1, _query_int(request, "limit", MAX_PAGE, MAX_PAGE))
    head = await hub.ledger.head()
    decisions = await hub.ledger.decisions_after(after, limit)
    hub.writer.note_cursor(member.name, after, hub.clock())
    page = DecisionPage(
        decisions=tuple(decisions),
        next=decisions[-1].cursor if decisions else after,
        more=len(decisions) == limit,
        head=head,
    )
    return json_response(encode_page(page))


async def stream_decisions(request: Request) -> Response:
    """Server-Sent Events: the backlog after ``Last-Event-ID`` (or ``after``), then live."""
    hub = hub_of(request)
    member = await authenticate(request)
    await signed_body(request, 0)
    header = request.headers.get("last-event-id")
    try:
        after = parse_cursor(header) if header else _query_int(request, "after", 0, 2**63 - 1)
    except ValueError as exc:
        raise ProblemError("bad-request", f"Last-Event-ID: {exc}") from None
    if hub.feed.streams_of(member.name) >= hub.config.streams_per_member:
        hub.metrics.quota["streams"] += 1
        raise ProblemError(
            "too-many-streams",
            f"member {member.name!r} already has {hub.config.streams_per_member} decision"
            " streams open; close one (one agent per membership) or page instead",
        )
    hub.writer.note_cursor(member.name, after, hub.clock())

    def progress(cursor: int) -> None:  # once per chunk written, not per decision
        hub.writer.note_cursor(member.name, cursor, hub.clock())

    # The feed's generator is the response body itself (no wrapping generator: one
    # less resumption per chunk on every stream).
    frames = hub.feed.follow(after, hub.config.heartbeat, progress, member.name,
                             retry_frame(2000))
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def post_leave(request: Request) -> Response:
    """Revoke the signing member's own key."""
    hub = hub_of(request)
    member = await authenticate(request)
    await signed_body(request, 4096)
    await hub.ledger.revoke_member(member.name, "left", hub.clock())
    hub.writer.membership_changed()
    return json_response(msgspec.json.encode(LeaveResponse(member.name)))


async def get_metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    hub = hub_of(request)
    roster = getattr(request.app.state, "roster", None)  # readiness gauges per member
    text = hub.metrics.render(hub.feed.connected, hub.feed.lag, hub.feed.head,
                              extra=roster.keeper.metrics_text if roster is not None else None)
    return Response(text, media_type="text/plain; version=0.0.4")


async def get_health(request: Request) -> Response:
    """Liveness: the process answers (a failing disk is :func:`get_ready`'s business)."""
    hub = hub_of(request)
    return json_response(b'{"status":"ok","head":%d}' % hub.feed.head)


async def get_ready(request: Request) -> Response:
    """Readiness: 200 only while the ledger takes writes (a load balancer's check)."""
    hub = hub_of(request)
    problem = await hub.writer.readiness()
    if problem is not None:
        raise ProblemError("not-ready", problem)
    if not isinstance(hub.writer, Writer):  # a PostgreSQL replica: say which and how far
        try:
            status = await hub.writer.status()
        except HubError as exc:
            raise ProblemError("not-ready", str(exc)) from None
        return json_response(msgspec.json.encode({"status": "ready", **status}))
    return json_response(b'{"status":"ready","head":%d}' % hub.feed.head)
