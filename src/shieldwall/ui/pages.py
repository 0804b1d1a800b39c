"""The dashboard's pages (GET): members, decisions, an address, activity.

Thin handlers: read the ledger with indexed queries (never the whole log), hand
the records to :mod:`.views`/:mod:`.charts`, render. Every page is plain HTML;
htmx only adds the live rows.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shieldwall.hub.admin import covering_targets, explain
from shieldwall.hub.api import hub_of
from shieldwall.ui import charts, views
from shieldwall.ui.access import COOKIE, Session
from shieldwall.ui.context import UiContext, ui_of
from shieldwall.ui.render import STATIC_PINS, page, static_file

NAV = (
    ("/ui/", "Members"),
    ("/ui/decisions", "Decisions"),
    ("/ui/activity", "Activity"),
    ("/ui/drills", "Drills"),
    ("/ui/council", "Council"),
    ("/ui/arsenal", "Arsenal"),
)
#: Subresource-integrity values of the pinned scripts (the browser re-checks them).
SRI = {
    name: "sha256-" + base64.b64encode(bytes.fromhex(pin)).decode()
    for name, pin in STATIC_PINS.items()
}
#: Propagation histogram bins, in milliseconds.
LATENCY_EDGES = (0, 50, 100, 200, 300, 500, 1000, 2000)


def session_of(request: Request, ui: UiContext) -> Session | None:
    """The operator session the request's cookie names, if it is live."""
    return ui.sessions.session(request.cookies.get(COOKIE), hub_of(request).clock())


def common(request: Request, here: str, title: str, anonymous: bool = False) -> dict[str, Any]:
    """What every page's frame shows: navigation and who is acting (``anonymous``: a
    refusal to a client that may not look, which never reads its cookie)."""
    session = None if anonymous else session_of(request, ui_of(request))
    return {
        "title": title, "nav": NAV, "here": here, "sri": SRI,
        "operator": session.operator if session else "", "csrf": session.csrf if session else "",
    }


async def members_page(request: Request) -> Response:
    """Every member with its readiness, last heartbeat, stream lag and counts."""
    ui, hub = ui_of(request), hub_of(request)
    now = hub.clock()
    head = await hub.ledger.head()
    states, checks, beats = await ui.institutions.readiness(hub, now)
    rows = views.member_rows(await hub.ledger.members(), head, now, states)
    trust = ui.institutions.trust(hub, [r.name for r in rows], now)
    return page(
        "members.html", **common(request, "/ui/", "Members"), rows=rows, checks=checks,
        head=head, streams=hub.feed.connected, trust=trust, beats=beats,
    )


async def decisions_page(request: Request) -> Response:
    """Newest first, one page at a time, searchable; the first page is live."""
    hub = hub_of(request)
    now = hub.clock()
    search, problem = views.parse_search(dict(request.query_params))
    head = await hub.ledger.head()
    if search.target:
        found = await hub.ledger.decisions_for(covering_targets(search.target))
        decisions = [
            s.decision for s in reversed(found)
            if (not search.scenario or s.decision.scenario == search.scenario)
            and (not search.member or search.member in s.decision.origin.split(","))
        ][: views.PAGE_ROWS]
        older = 0
    else:
        decisions = await hub.ledger.decisions_before(
            search.before or head + 1, views.PAGE_ROWS, scenario=search.scenario,
            member=search.member,
        )
        older = views.older_page(decisions)
    rows = [views.decision_row(d, now) for d in decisions]
    message = request.query_params.get("message", "")[:300]
    return page(
        "decisions.html", **common(request, "/ui/decisions", "Decisions"), rows=rows,
        search=search, problem=problem, head=head, older=older, message=message,
        live=search.empty and not search.before,
    )


async def address_page(request: Request) -> Response:
    """The explain view of one address: verdict, evidence, protections, decisions."""
    hub = hub_of(request)
    now = hub.clock()
    text = request.path_params["target"]
    search, problem = views.parse_search({"q": text})
    context = common(request, "/ui/decisions", text)
    if problem:
        return page("address.html", 400, **context, target=text, problem=problem)
    explanation = await explain(hub.ledger, hub.config, search.target, now)
    found = await hub.ledger.decisions_for(covering_targets(search.target))
    rows = [views.decision_row(s.decision, now) for s in reversed(found)]
    return page(
        "address.html", **context, target=search.target, problem="",
        blocked=bool(explanation.blocked_by), explanation=explanation.render(now), rows=rows,
    )


async def activity_page(request: Request) -> Response:
    """Pictures: attacks per hour per scenario, propagation latency, top tables."""
    ui, hub = ui_of(request), hub_of(request)
    now = hub.clock()
    head = await hub.ledger.head()
    recent = await hub.ledger.decisions_before(head + 1, 20_000, since=now - 86400)
    labels, series = views.attacks_by_hour(recent, now)
    latencies, note = await ui.institutions.propagation(hub, now, recent)
    blocks = [d for d in recent if d.action == "block" and not d.drill]
    return page(
        "activity.html", **common(request, "/ui/activity", "Activity"),
        attacks=charts.stacked_bars(labels, series),
        propagation=charts.histograms(latencies, LATENCY_EDGES),
        propagation_note=note,
        sources=views.top(d.target for d in blocks),
        reporters=views.top(m for d in blocks for m in d.origin.split(",")),
        scenarios=views.top(d.scenario for d in blocks),
    )


async def institution_page(request: Request) -> Response:
    """Drills, council or arsenal: a table from that institution's records."""
    ui, hub = ui_of(request), hub_of(request)
    which = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    table = await ui.institutions.table(which, hub, hub.clock())
    return page(
        "records.html", **common(request, f"/ui/{which}", table.title), intro=table.intro,
        headings=table.headings, entries=table.rows, empty=table.empty, details=table.details,
        signable=table.signable, message=request.query_params.get("message", "")[:300],
    )


async def static(request: Request) -> Response:
    """A shipped static file (the pinned scripts are checked against their SHA-256)."""
    try:
        data, media = static_file(request.path_params["name"])
    except FileNotFoundError:
        return Response("not found", 404, media_type="text/plain")
    etag = hashlib.sha256(data).hexdigest()[:16]
    return Response(
        data, media_type=media,
        headers={"Cache-Control": "public, max-age=3600", "ETag": f'"{etag}"'},
    )
