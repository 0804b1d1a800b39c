"""``POST /v1/heartbeat``: a member's readiness into the roster; the alliance's versions back.

Authenticated like every member request (headers first, then the body against its
signed hash); the body must name the signer and be later than its last heartbeat
(:func:`~shieldwall.readiness.heartbeat.decode_heartbeat`). Refusals are counted by
reason in the roster's metrics and answered as problems, never recorded in the roster.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from shieldwall.agent.supervise import Supervisor
from shieldwall.errors import HubError, SignalError
from shieldwall.events.packs import builtin_pack_names
from shieldwall.hub import api
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.storage import JournalEntry, Ledger
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.roster_keeper import RosterKeeper
from shieldwall.hub.roster_share import RosterShare, SharedRoster
from shieldwall.readiness.applied import APPLIED_EVERY, APPLIED_KIND, accept, encode_record
from shieldwall.readiness.heartbeat import (
    MAX_HEARTBEAT_BODY,
    DrillNews,
    Heartbeat,
    HeartbeatAnswer,
    decode_heartbeat,
    encode,
)
from shieldwall.readiness.probe_sources import versions_of

#: What the hub knows of a member's drills (the drills room supplies it).
DrillLookup = Callable[[str], Awaitable[DrillNews]]
#: Where the drills room journals finished reports (drills.journal.REPORT).
DRILL_REPORT_KIND = "drill.report"
#: Seconds between looks for a new drill report.
DRILL_RECHECK = 2.0


async def _no_drills(member: str) -> DrillNews:
    return DrillNews()


@dataclass
class RosterContext:
    """What the heartbeat handler needs beside the hub's context (``app.state.roster``)."""

    keeper: RosterKeeper
    #: The alliance's pack versions (the packs this hub ships) and policy version.
    packs: dict[str, str] = field(default_factory=dict)
    policy: str = ""
    #: Set by the drills room (``drills_lifespan``); called through :meth:`drill_news`.
    drills: DrillLookup = _no_drills
    _news: dict[str, DrillNews] = field(default_factory=dict)
    #: member -> when its last ``applied`` report was journaled (hub clock).
    applied_at: dict[str, float] = field(default_factory=dict)
    _newest: int = -1
    _checked: float = float("-inf")

    async def drill_news(self, ledger: Ledger, member: str, now: float) -> DrillNews:
        """``member``'s drill news, remembered until a new drill report is journaled.

        A lookup reads recent reports; every member heartbeats, so each would read
        them again: the newest report's id (looked at most every
        :data:`DRILL_RECHECK` seconds) says when the remembered answers are stale.
        """
        if now - self._checked >= DRILL_RECHECK:
            self._checked = now
            newest = await ledger.journal(DRILL_REPORT_KIND, limit=1, newest_first=True)
            mark = newest[0].id if newest else 0
            if mark != self._newest:
                self._news.clear()
                self._newest = mark
        news = self._news.get(member)
        if news is None:
            news = self._news[member] = await self.drills(member)
        return news


def alliance_versions(config: HubConfig) -> tuple[dict[str, str], str]:
    """The pack versions this hub ships and a digest of the policy it decides under."""
    packs = dict(versions_of(builtin_pack_names()).local)
    text = (config.policy_file.read_bytes()
            if config.policy_file is not None and config.policy_file.exists() else b"")
    return packs, hashlib.sha256(text).hexdigest() if text else "default"


@contextlib.asynccontextmanager
async def roster_lifespan(app: Starlette, config: HubConfig) -> AsyncIterator[RosterContext]:
    """Inside the hub's lifespan: load the roster, sweep it under supervision, feed the
    writer's policy the members whose reports do not count (``app.state.roster``)."""
    hub: api.HubContext = app.state.hub
    # A PostgreSQL replica desk leads while it holds a writer; a single hub always does.
    keeper = RosterKeeper(hub.ledger, hub.clock, grace=config.readiness_grace,
                          leading=lambda: getattr(hub.writer, "writer", hub.writer) is not None)
    await keeper.load()
    share = RosterShare(hub.ledger, keeper) if isinstance(hub.ledger, SharedRoster) else None
    if share is not None:  # PostgreSQL: one roster for every replica (hub.roster_share)
        await share.start()
    packs, policy = alliance_versions(config)
    context = RosterContext(keeper, packs, policy)
    app.state.roster = context
    # On PostgreSQL the replica desk hands it to whichever writer leads there.
    hub.writer.discounted = lambda: keeper.discounted
    supervisor = Supervisor()
    supervisor.start("roster.sweep", keeper.run)
    if share is not None:
        supervisor.start("roster.share", share.run)
    try:
        yield context
    finally:
        await supervisor.stop()


async def journal_applied(roster: RosterContext, hub: api.HubContext, beat: Heartbeat) -> None:
    """Journal when ``beat``'s member applied its recent decisions (hub clock), so every
    replica's dashboard measures propagation from the same records. A member may add
    one record per :data:`~shieldwall.readiness.applied.APPLIED_EVERY` seconds on each
    replica: a member beating faster (honest ones beat every second at most) cannot
    flood it."""
    if not beat.applied:
        return
    now = hub.clock()
    if now - roster.applied_at.get(beat.member, float("-inf")) < APPLIED_EVERY:
        return
    record = accept(beat.member, beat.at, beat.applied, now, hub.feed.head)
    if record is None:
        return
    roster.applied_at[beat.member] = now
    await hub.ledger.journal_append([JournalEntry(APPLIED_KIND, beat.member, now,
                                                  encode_record(record))])


def roster_of(request: Request) -> RosterContext:
    """The roster context stored on the app."""
    context: RosterContext = request.app.state.roster
    return context


async def post_heartbeat(request: Request) -> Response:
    """Take one member's heartbeat; answer with the hub's clock, head and versions."""
    hub = api.hub_of(request)
    roster = roster_of(request)
    keeper = roster.keeper
    try:
        record = await api.authenticate(request)
    except ProblemError as exc:
        keeper.refused[exc.reason] += 1
        raise
    try:
        raw = await api.signed_body(request, MAX_HEARTBEAT_BODY)
        beat = decode_heartbeat(raw, record.name, keeper.last_sent(record.name))
    except ProblemError as exc:
        keeper.refused[exc.reason] += 1
        raise
    except SignalError as exc:
        keeper.refused[exc.reason] += 1
        raise ProblemError(exc.reason, str(exc)) from None
    try:
        entry = await keeper.heard(beat)
        await journal_applied(roster, hub, beat)
    except HubError as exc:
        raise ProblemError("unavailable", str(exc)) from None
    answer = HeartbeatAnswer(
        member=record.name, at=hub.clock(), head=hub.feed.head,
        state="failing" if entry.state == "unknown" else entry.state,
        packs=roster.packs, policy=roster.policy,
        drill=await roster.drill_news(hub.ledger, record.name, hub.clock()),
        counts=keeper.counts(record.name),
    )
    return api.json_response(encode(answer))
