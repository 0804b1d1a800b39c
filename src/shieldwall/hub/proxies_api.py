"""``POST /v1/proxies``: a member declares the reverse proxies in front of it.

Signed like every member request (headers first, then the body's hash); the body
is a :class:`~shieldwall.hub.proxies.ProxyDeclaration`, checked against the
bounds of :mod:`shieldwall.hub.proxies` before anything is stored, and replaces
the member's last declaration. Any replica takes it (it is a membership write,
like leaving): the deciding writer reloads its guards when the ledger changes.
From then on the hub refuses the member's own detections that blame one of its
proxies; other members' reports are never touched (see hub/proxies.py for why).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from shieldwall.errors import HubError, SignalError
from shieldwall.hub.api import authenticate, hub_of, json_response, signed_body
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.proxies import ProxiesAnswer, ProxyDeclaration, check_declaration

#: 64 networks of at most 64 characters, quoted, fit well within this.
MAX_DECLARATION = 8 * 1024
_decode = msgspec.json.Decoder(ProxyDeclaration)


async def post_proxies(request: Request) -> Response:
    """Store the signing member's declared proxies; answer what was stored."""
    hub = hub_of(request)
    member = await authenticate(request)
    body = await signed_body(request, MAX_DECLARATION)
    try:
        proxies = check_declaration(_decode.decode(body).proxies)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ProblemError("malformed", f"not a proxy declaration: {exc}", 400) from None
    except SignalError as exc:
        raise ProblemError(exc.reason, str(exc), 400) from None
    try:
        await hub.ledger.declare_proxies(member.name, proxies, hub.clock())
    except HubError as exc:
        raise ProblemError("unavailable", str(exc), 503) from None
    hub.writer.membership_changed()  # the guards are rebuilt before the next group
    return json_response(msgspec.json.encode(ProxiesAnswer(member.name, list(proxies))))
