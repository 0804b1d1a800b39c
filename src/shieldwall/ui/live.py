"""The live decisions feed of the dashboard: the hub's decision stream, as HTML rows.

It follows the same :class:`~shieldwall.decisions.feed.Feed` members do, from a
cursor: the browser's ``EventSource`` sends ``Last-Event-ID`` when it reconnects,
so a dropped connection resumes where it stopped and never misses a decision.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from shieldwall.decisions.codec import SSEParser, parse_cursor
from shieldwall.decisions.decision import decode_decision
from shieldwall.hub.api import hub_of
from shieldwall.ui import views
from shieldwall.ui.context import ui_of
from shieldwall.ui.pages import session_of
from shieldwall.ui.render import render

#: How often an idle feed sends a comment (keeps proxies from closing it).
KEEPALIVE = 15.0


def row_frame(cursor: int, html: str) -> bytes:
    """One SSE event carrying a table row; every line of HTML is its own ``data:``."""
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines())
    return f"id: {cursor}\nevent: decision\n{data}\n".encode()


async def live_rows(request: Request) -> Response:
    """``text/event-stream`` of decision rows after ``Last-Event-ID`` (or ``after``)."""
    hub = hub_of(request)
    raw = request.headers.get("last-event-id") or request.query_params.get("after", "0")
    try:
        after = parse_cursor(raw)
    except ValueError as exc:
        return Response(f"bad cursor: {exc}", 400, media_type="text/plain")

    session = session_of(request, ui_of(request))
    csrf = session.csrf if session else ""

    async def frames() -> AsyncIterator[bytes]:
        yield b"retry: 1000\n\n"
        parser = SSEParser()
        async for chunk in hub.feed.follow(after, KEEPALIVE, None, "ui"):
            for event in parser.feed(chunk):
                if event.event != "decision":
                    yield b": alive\n\n"
                    continue
                decision = decode_decision(event.data)
                row = views.decision_row(decision, hub.clock())
                yield row_frame(decision.cursor, render("_row.html", row=row, csrf=csrf))

    return StreamingResponse(
        frames(), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
