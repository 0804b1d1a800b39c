"""What an operator may do from the dashboard (POST), and how it gets a session.

``POST /ui/session`` is a member request (signed headers): a member listed in the
hub's ``operators`` gets a one-time login link. ``GET /ui/login`` spends it for a
session cookie. Every POST from the page must carry the session's CSRF token; an
action runs through the same code as the CLI (:mod:`shieldwall.hub.operator_relay`).
"""

from __future__ import annotations

import secrets
import urllib.parse

import msgspec
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shieldwall.durations import parse_duration
from shieldwall.errors import ShieldwallError
from shieldwall.hub.api import authenticate, hub_of, json_response, signed_body
from shieldwall.hub.create import with_ledger
from shieldwall.hub.operator_relay import operator_ban, operator_lift
from shieldwall.hub.problem import ProblemError
from shieldwall.ui.access import COOKIE, SESSION_LIFETIME, may_act
from shieldwall.ui.context import ui_of
from shieldwall.ui.pages import common, session_of
from shieldwall.ui.render import page

#: A dashboard form is a few fields; anything bigger is not ours.
MAX_FORM = 4096


class LoginLink(msgspec.Struct, frozen=True):
    """The answer to ``POST /ui/session``."""

    operator: str
    path: str
    expires: float


async def post_session(request: Request) -> Response:
    """A one-time login link for an operator member (signed member request)."""
    hub = hub_of(request)
    member = await authenticate(request)
    await signed_body(request, 4096)
    if member.name not in hub.config.operators:
        raise ProblemError(
            "not-an-operator",
            f"member {member.name!r} is not an operator of this hub; list it in hub.toml"
            " `operators` to let it act from the dashboard",
            403,
        )
    code = secrets.token_urlsafe(32)
    expires = ui_of(request).sessions.issue_code(member.name, code, hub.clock())
    link = LoginLink(member.name, "/ui/login?code=" + urllib.parse.quote(code), expires)
    return json_response(msgspec.json.encode(link))


async def get_login(request: Request) -> Response:
    """Spend a login code: set the session cookie and go to the decisions."""
    ui, hub = ui_of(request), hub_of(request)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session = ui.sessions.redeem(request.query_params.get("code", ""), token, csrf, hub.clock())
    if session is None:
        return page(
            "refused.html", 403, **common(request, "", "Refused"),
            reason="this login link is unknown, used or expired: run `shieldwall ui login` again",
        )
    response = RedirectResponse("/ui/decisions", 303)
    response.set_cookie(
        COOKIE, token, max_age=int(SESSION_LIFETIME), httponly=True, secure=True,
        samesite="strict", path="/ui",
    )
    return response


async def _form(request: Request) -> dict[str, str] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            return None
    pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)


async def form_or_refusal(request: Request) -> tuple[dict[str, str], Response | None]:
    """The form, or the page refusing it (no session, bad CSRF token, other origin)."""
    form = await _form(request)
    session = session_of(request, ui_of(request))
    if form is None:
        why: str | None = "the form is too large"
    else:
        why = may_act(
            session, form.get("csrf", ""), request.headers.get("origin"),
            request.headers.get("host", ""),
        )
    if form is None or why is not None:
        return {}, page("refused.html", 403, **common(request, "", "Refused"), reason=why)
    return form, None


async def post_lift(request: Request) -> Response:
    """Lift every block covering the form's target, as ``shieldwall hub lift`` does (on
    PostgreSQL replicas: the leader lifts on this request)."""
    form, refused = await form_or_refusal(request)
    if refused is not None:
        return refused
    hub = hub_of(request)
    target = form.get("target", "")
    try:
        lifted = await with_ledger(
            hub.config, lambda ledger: operator_lift(ledger, hub.config, target, hub.clock())
        )
    except ShieldwallError as exc:
        message = f"could not lift {target}: {exc}"
    else:
        message = (
            f"lifted {', '.join(d.target for d in lifted)}" if lifted
            else f"{target} is not blocked; nothing to lift"
        )
    return RedirectResponse("/ui/decisions?message=" + urllib.parse.quote(message), 303)


async def post_ban(request: Request) -> Response:
    """Block the form's address or range alliance-wide for its duration, as the operator
    (the policy's protections, members' own ranges and caps apply as to any ban)."""
    form, refused = await form_or_refusal(request)
    if refused is not None:
        return refused
    hub = hub_of(request)
    target = form.get("target", "").strip()
    try:
        duration = parse_duration(form.get("duration", "").strip() or "4h", "duration")
        banned = await with_ledger(
            hub.config, lambda ledger: operator_ban(ledger, hub.config, target, duration,
                                                    hub.clock())
        )
    except ShieldwallError as exc:
        message = f"could not ban {target}: {exc}"
    else:
        message = f"banned {', '.join(d.target for d in banned)}"
    return RedirectResponse("/ui/decisions?message=" + urllib.parse.quote(message), 303)


async def post_logout(request: Request) -> Response:
    """End the operator's session."""
    _, refused = await form_or_refusal(request)
    if refused is not None:
        return refused
    ui_of(request).sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/ui/decisions", 303)
    response.delete_cookie(COOKIE, path="/ui")
    return response
