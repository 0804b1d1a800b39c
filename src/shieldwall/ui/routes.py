"""The dashboard's routes under ``/ui/``, mounted by the hub app.

Every page answers only clients the dashboard allows (loopback unless
``hub.toml`` lists ``ui_allow``); ``POST /ui/session`` is the exception because it
is a signed member request, not a browser's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from shieldwall.ui import actions, council_sign, live, pages
from shieldwall.ui.context import ui_of
from shieldwall.ui.render import page

Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler) -> Handler:
    """``handler`` for allowed clients only; others get 403 and learn the key to set."""

    async def gate(request: Request) -> Response:
        client = request.client.host if request.client else None
        if not ui_of(request).allows(client):
            return page(
                "refused.html", 403, **pages.common(request, "", "Refused", anonymous=True),
                reason=f"the dashboard does not answer {client}: it serves loopback unless"
                " hub.toml lists the client's range in `ui_allow`",
            )
        return await handler(request)

    return gate


def ui_mount() -> Mount:
    """``/ui`` and everything under it."""
    return Mount("/ui", routes=[
        Route("/", guarded(pages.members_page), methods=["GET"]),
        Route("/decisions", guarded(pages.decisions_page), methods=["GET"]),
        Route("/address/{target:path}", guarded(pages.address_page), methods=["GET"]),
        Route("/activity", guarded(pages.activity_page), methods=["GET"]),
        Route("/drills", guarded(pages.institution_page), methods=["GET"]),
        Route("/council", guarded(pages.institution_page), methods=["GET"]),
        Route("/arsenal", guarded(pages.institution_page), methods=["GET"]),
        Route("/live", guarded(live.live_rows), methods=["GET"]),
        Route("/static/{name}", guarded(pages.static), methods=["GET"]),
        Route("/login", guarded(actions.get_login), methods=["GET"]),
        Route("/lift", guarded(actions.post_lift), methods=["POST"]),
        Route("/ban", guarded(actions.post_ban), methods=["POST"]),
        Route("/council/sign", guarded(council_sign.post_sign), methods=["POST"]),
        Route("/logout", guarded(actions.post_logout), methods=["POST"]),
        Route("/session", actions.post_session, methods=["POST"]),
    ])
