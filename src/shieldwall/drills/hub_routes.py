"""The hub's drill endpoints and the lifespan that runs its drill desk.

``GET /v1/drills/orders?after=N``: the signed orders journaled after ``N`` (recent
ones only), with the hub's identity key a member pins on first use.
``POST /v1/drills/stages``: member-signed stage reports; the signer must be the
member the report names, its signature must verify; it is journaled with what the
conductor does next (in the same transaction as the next decision, report or tick).
Both are authenticated like every member request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shieldwall.addresses import Ranges
from shieldwall.agent.supervise import Supervisor
from shieldwall.drills.hub_desk import DrillDesk
from shieldwall.drills.journal import ORDER, STAGE, drill_news
from shieldwall.drills.order import MAX_TTL
from shieldwall.drills.stage import Posted, SignedStage, stage_verifies
from shieldwall.governance.standing import Standing
from shieldwall.hub import api
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.hub.ledger.storage import JournalEntry
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.writer import Writer
from shieldwall.readiness.heartbeat import DrillNews

MAX_STAGE_BODY = 65_536
#: Stage reports in one request (a member sends at most three at once).
MAX_STAGES = 8
_batch = msgspec.json.Decoder(
    Annotated[tuple[SignedStage, ...], msgspec.Meta(min_length=1, max_length=MAX_STAGES)])
#: Longest long poll for orders, below a member's 10 s read timeout.
MAX_WAIT = 8
#: Orders older than this are not served (a member joining later need not refuse them all).
SERVE_WINDOW = 2 * MAX_TTL


class OrdersPage(msgspec.Struct, frozen=True):
    """Recent orders after a journal id; ``orders`` are raw so one bad entry spoils nothing."""

    hub_key: str
    last: int
    orders: tuple[msgspec.Raw, ...] = ()


def desk_of(request: Request) -> DrillDesk:
    """The drill desk stored on the app."""
    desk: DrillDesk = request.app.state.drills
    return desk


async def get_orders(request: Request) -> Response:
    """Recent drill orders for members to check (each member decides whether it is named)."""
    hub = api.hub_of(request)
    await api.authenticate(request)
    await api.signed_body(request, 0)
    raw = request.query_params.get("after", "0")
    if not raw.isdigit() or len(raw) > 18:
        raise ProblemError("bad-request", "after must be a journal id (a non-negative integer)")
    wait = request.query_params.get("wait", "0")
    if not wait.isdigit() or int(wait) > MAX_WAIT:
        raise ProblemError("bad-request", f"wait must be whole seconds, at most {MAX_WAIT}")
    desk = desk_of(request)
    seen = desk.orders_seen
    if desk.active:
        await desk.pick_up()  # every order a member sees already has its conductor
    entries = await hub.ledger.journal(ORDER, after=int(raw), limit=100)
    if not entries and int(wait):
        # A long poll: answer as soon as the desk picks up a new order.
        await desk.wait_orders(seen, int(wait))
        entries = await hub.ledger.journal(ORDER, after=int(raw), limit=100)
    now = hub.clock()
    fresh = tuple(msgspec.Raw(e.body) for e in entries if e.at >= now - SERVE_WINDOW)
    page = OrdersPage(hub.hub_key.hex(), entries[-1].id if entries else int(raw), fresh)
    return api.json_response(msgspec.json.encode(page))


async def post_stage(request: Request) -> Response:
    """Journal a member's signed stage reports and hand them to the drill's conductor.

    The body is a list of at most :data:`MAX_STAGES` signed reports, all checked before
    any is taken: one forged report refuses the whole request.
    """
    hub = api.hub_of(request)
    record = await api.authenticate(request)
    raw = await api.signed_body(request, MAX_STAGE_BODY)
    try:
        batch = _batch.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ProblemError("malformed", f"not a list of drill stage reports: {exc}") from None
    for signed in batch:
        if signed.report.member != record.name or signed.signature.key_id != record.key_id:
            raise ProblemError("forged", "a member reports its own drill stages only", 403)
        if not stage_verifies(signed, {record.key_id: record.public_key}):
            raise ProblemError("forged", "the stage report's signature does not verify", 403)
    now = hub.clock()
    desk = desk_of(request)
    for signed in batch:
        entry = JournalEntry(STAGE, signed.report.drill, now, msgspec.json.encode(signed))
        await desk.stage(signed.report, entry)
    return api.json_response(msgspec.json.encode(Posted(now)))


ROUTES = [
    Route("/v1/drills/orders", get_orders, methods=["GET"]),
    Route("/v1/drills/stages", post_stage, methods=["POST"]),
]


@contextlib.asynccontextmanager
async def drills_lifespan(app: Starlette) -> AsyncIterator[DrillDesk]:
    """Inside the hub's lifespan: the drill desk under supervision (``app.state.drills``)."""
    hub: api.HubContext = app.state.hub

    def writer() -> Writer | None:
        # The Writer deciding here: the hub's own, or a PostgreSQL replica's while it leads.
        if isinstance(hub.writer, Writer):
            return hub.writer
        leading = getattr(hub.writer, "writer", None)
        return leading if isinstance(leading, Writer) else None

    def protections() -> Ranges:
        # The writer's protections include what members own; a follower has the config's.
        deciding = writer()
        return deciding.policy.protections if deciding is not None else hub.config.protections()

    governed = hub.config.council_dir is not None
    scheduled = bool(hub.config.drill_every) or governed
    seed = (hub.config.data_dir / IDENTITY_FILE).read_bytes() if scheduled else None

    def policy() -> str:
        council = getattr(hub.writer, "governed", None)
        return council.version if council is not None else ""

    def standing() -> Standing | None:
        council = getattr(hub.writer, "governed", None)
        return None if council is None else council.standing

    desk = DrillDesk(hub.ledger, hub.feed, hub.hub_key, hub.clock, protections,
                     every=hub.config.drill_every, seed=seed, policy=policy,
                     council=standing if governed else None,
                     leading=lambda: writer() is not None)
    await desk.start()
    app.state.drills = desk
    roster = getattr(app.state, "roster", None)
    if roster is not None:  # readiness R8: each member's part in the last drill

        async def news(member: str) -> DrillNews:
            return await drill_news(hub.ledger, member)

        roster.drills = news
    supervisor = Supervisor()
    # On every replica; one conductor per alliance: the replica that writes decisions.
    supervisor.start("drills.desk", desk.run)
    try:
        yield desk
    finally:
        await supervisor.stop()
