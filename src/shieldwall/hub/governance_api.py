"""The council's routes on the hub: the act log, the charter chain, and signed checkpoints.

Members fetch these with a signed request (like the decision pages) and verify every
byte themselves from the charter their join token pinned; the hub's word counts for
nothing here, so these handlers only serve what the council folder holds and what
:class:`~shieldwall.hub.governance_council.HubCouncil` signed.

- ``GET /v1/council/acts``: the act log, a JSON array of act records, oldest first;
- ``GET /v1/council/charters``: every published charter version with its signatures;
- ``GET /v1/council/checkpoint``: the hub's signed checkpoint at its head.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shieldwall.errors import HubError
from shieldwall.governance.acts import CharterChange
from shieldwall.governance.charter import SignedCharter
from shieldwall.governance.checkpoint import encode_checkpoint
from shieldwall.hub.api import HubContext, authenticate, json_response, signed_body
from shieldwall.hub.governance_council import HubCouncil, always
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.writer import Writer


def council_of(request: Request) -> HubCouncil:
    """The serving hub's council; 404 ``no-council`` when it runs without one."""
    council: HubCouncil | None = getattr(request.app.state, "council", None)
    if council is None or council.standing is None:
        raise ProblemError("not-found", "this hub runs under no council (hub.toml: council, charter)", 404)
    return council


async def get_acts(request: Request) -> Response:
    """The act log the hub runs under (members verify it from their pinned charter)."""
    await authenticate(request)
    await signed_body(request, 0)
    return json_response(msgspec.json.encode(council_of(request).records))


async def get_charters(request: Request) -> Response:
    """The charter chain: each version with the signatures that published it."""
    await authenticate(request)
    await signed_body(request, 0)
    chain = [SignedCharter(r.act.effect.charter, r.signatures) for r in council_of(request).records
             if isinstance(r.act.effect, CharterChange)]
    return json_response(msgspec.json.encode(chain))


async def get_checkpoint(request: Request) -> Response:
    """The hub's signed checkpoint of its decision log at the head streams were sent."""
    await authenticate(request)
    await signed_body(request, 0)
    try:
        signed = await council_of(request).checkpoint()
    except HubError as exc:
        raise ProblemError("unavailable", str(exc)) from None
    return json_response(encode_checkpoint(signed))


ROUTES = [
    Route("/v1/council/acts", get_acts, methods=["GET"]),
    Route("/v1/council/charters", get_charters, methods=["GET"]),
    Route("/v1/council/checkpoint", get_checkpoint, methods=["GET"]),
]


@contextlib.asynccontextmanager
async def council_lifespan(app: Starlette) -> AsyncIterator[None]:
    """Run the hub under its council when ``hub.toml`` names one (after the hub's own lifespan)."""
    hub = getattr(app.state, "hub", None)
    if not isinstance(hub, HubContext) or hub.config.council_dir is None:
        app.state.council = None
        yield
        return
    leading = always
    if not isinstance(hub.writer, Writer):  # a PostgreSQL replica: its desk leads or follows
        desk = hub.writer
        leading = lambda: desk.writer is not None  # noqa: E731
    council = HubCouncil(hub.config, hub.ledger, hub.feed, hub.writer, hub.clock, leading)
    app.state.council = council
    await council.start()
    try:
        yield
    finally:
        await council.stop()
