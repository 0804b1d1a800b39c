"""The hub's HTTP endpoints: thin handlers over the envelope rules, writer and feed.

Every handler reads a bounded body, calls the pure checks, and turns Shieldwall
errors into RFC 9457 problems; nothing here decides policy.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shieldwall.decisions.codec import DecisionPage, encode_page, parse_cursor, retry_frame
from shieldwall.decisions.feed import Feed
from shieldwall.errors import AddressError, HubError, SignalError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.storage import Ledger, MemberRecord
from shieldwall.hub.members import check_member_name, secret_hash
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.policy import canonical_target
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.writer import Writer
from shieldwall.signals.envelope import decode_envelope, verify_envelope
from shieldwall.signals.keys import MemberKey, key_id_of
from shieldwall.signals.request_signature import verify_request

MAX_PAGE = 1000
#: Widest range a member may declare as its own at join. Owned ranges are protected
#: from every signal, so a member claiming 0.0.0.0/0 would disarm the alliance.
WIDEST_OWNED = {4: 16, 6: 32}


class JoinRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A new member's request to join with a token's secret."""

    secret: str
    #: Base64 of the member's raw 32-byte Ed25519 public key.
    public_key: str
    #: Addresses/CIDRs the member owns: no signal can get them blocked.
    owns: list[str] = []
    name: str = ""


class JoinResponse(msgspec.Struct, frozen=True):
    """The hub's welcome: the member's registered name and key id."""

    name: str
    key_id: str
    #: Base64 of the hub's Ed25519 identity public key.
    hub_key: str


class LeaveResponse(msgspec.Struct, frozen=True):
    """Confirmation that the member's key is revoked."""

    name: str
    left: bool = True


@dataclass
class HubContext:
    """What the handlers share: one per running hub process."""

    config: HubConfig
    ledger: Ledger
    writer: Writer
    feed: Feed
    metrics: HubMetrics
    hub_key: bytes
    clock: Callable[[], float]


def hub_of(request: Request) -> HubContext:
    """The context stored on the app."""
    context: HubContext = request.app.state.hub
    return context


def json_response(data: bytes, status: int = 200) -> Response:
    """A JSON response from encoded bytes."""
    return Response(data, status_code=status, media_type="application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ProblemError("bad-request", "Content-Length is not a number")
        if int(declared) > limit:
            raise ProblemError("too-large", f"body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProblemError("too-large", f"body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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


async def authenticate(request: Request, body: bytes = b"") -> MemberRecord:
    """The member that signed this request; 401 otherwise."""
    hub = hub_of(request)
    key_id = request.headers.get("x-shieldwall-key", "")
    record = await hub.ledger.member_by_key(key_id) if key_id else None
    key = member_key(record)
    try:
        verify_request(
            request.headers, request.method, request_target(request), body,
            lambda _k: key, hub.clock(),
        )
    except SignalError as exc:
        hub.metrics.rejected[exc.reason] += 1
        raise ProblemError(exc.reason, str(exc), 401) from None
    if record is None:  # pragma: no cover - verify_request refuses unknown keys
        raise ProblemError("unknown-key", "unknown member", 401)
    return record


async def post_signals(request: Request) -> Response:
    """Accept one signed envelope; answer only once it is durable."""
    hub = hub_of(request)
    raw = await read_body(request, hub.config.max_body)
    record = None
    try:
        envelope = decode_envelope(raw)
        record = await hub.ledger.member_by_key(envelope.key_id)
        opened = verify_envelope(envelope, member_key(record), hub.clock(), check_time=False)
    except SignalError as exc:
        hub.metrics.rejected[exc.reason] += 1
        if record is not None:
            hub.writer.note_rejection(record.name)
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
    header = request.headers.get("last-event-id")
    try:
        after = parse_cursor(header) if header else _query_int(request, "after", 0, 2**63 - 1)
    except ValueError as exc:
        raise ProblemError("bad-request", f"Last-Event-ID: {exc}") from None
    hub.writer.note_cursor(member.name, after, hub.clock())

    async def frames() -> Any:
        yield retry_frame(2000)
        def progress(cursor: int) -> None:
            hub.writer.note_cursor(member.name, cursor, hub.clock())

        async for frame in hub.feed.follow(after, hub.config.heartbeat, progress):
            yield frame

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def post_join(request: Request) -> Response:
    """Register a new member with a one-time secret from a join token."""
    hub = hub_of(request)
    raw = await read_body(request, 64 * 1024)
    try:
        join = msgspec.json.decode(raw, type=JoinRequest)
    except msgspec.DecodeError as exc:
        raise ProblemError("bad-request", f"join request is not valid: {exc}") from None
    try:
        public_key = base64.b64decode(join.public_key, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError("invalid", "public_key is not base64") from None
    if len(public_key) != 32:
        raise ProblemError("invalid", "public_key must be 32 bytes (Ed25519)")
    if len(join.owns) > 1024:
        raise ProblemError("invalid", "owns: at most 1024 ranges")
    owns: list[str] = []
    for text in join.owns:
        try:
            target, network = canonical_target(text)
        except AddressError as exc:
            raise ProblemError("invalid", f"owns: {exc}") from None
        if network.prefixlen < WIDEST_OWNED[network.version]:
            raise ProblemError(
                "invalid",
                f"owns: {target} is wider than /{WIDEST_OWNED[network.version]}; a member may"
                " only protect ranges it really holds (split it, or ask the operator to add"
                " it to the alliance allowlist)",
            )
        owns.append(target)
    key_id = key_id_of(public_key)
    name = join.name or f"member-{key_id[:8]}"
    try:
        check_member_name(name)
    except HubError as exc:
        raise ProblemError("invalid", str(exc)) from None
    candidate = MemberRecord(
        name=name, key_id=key_id, public_key=public_key, owns=tuple(owns), joined=0.0
    )
    try:
        member = await hub.ledger.redeem_invite(secret_hash(join.secret), candidate, hub.clock())
    except HubError as exc:
        raise ProblemError("join-refused", str(exc)) from None
    hub.writer.membership_changed()
    answer = JoinResponse(member.name, member.key_id, base64.b64encode(hub.hub_key).decode())
    return json_response(msgspec.json.encode(answer), 201)


async def post_leave(request: Request) -> Response:
    """Revoke the signing member's own key."""
    hub = hub_of(request)
    body = await read_body(request, 4096)
    member = await authenticate(request, body)
    await hub.ledger.revoke_member(member.name, "left", hub.clock())
    hub.writer.membership_changed()
    return json_response(msgspec.json.encode(LeaveResponse(member.name)))


async def get_metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    hub = hub_of(request)
    text = hub.metrics.render(hub.feed.connected, hub.feed.lag, hub.feed.head)
    return Response(text, media_type="text/plain; version=0.0.4")


async def get_health(request: Request) -> Response:
    """Liveness: the hub answers and knows its head cursor."""
    hub = hub_of(request)
    return json_response(b'{"status":"ok","head":%d}' % hub.feed.head)
