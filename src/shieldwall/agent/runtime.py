"""The agent's one driver: runs sources, the hub link and the enforcer.

It owns every side effect and nothing else: each input (a chunk of log lines,
a decision, a tick) goes to :class:`~.core.AgentCore`, and the commands it
returns are carried out here, in order. Every background task runs under a
:class:`~.supervise.Supervisor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from shieldwall.addresses import Labelled, Ranges, parse_ranges
from shieldwall.agent.config import AgentConfig
from shieldwall.agent.core import (
    AgentCore,
    Command,
    Enforce,
    Note,
    Remember,
    Report,
    SaveCursor,
)
from shieldwall.agent.council_gate import CouncilGate
from shieldwall.agent.host import host_addresses
from shieldwall.agent.state import AgentState
from shieldwall.agent.supervise import Supervisor
from shieldwall.arsenal.member import ArsenalHook
from shieldwall.detection.proxies import ProxyGuard
from shieldwall.detection.scenario import load_scenarios
from shieldwall.drills.member import for_runtime as drill_member
from shieldwall.enforcers.enforcer import Enforcer
from shieldwall.enforcers.exports import write_exports
from shieldwall.enforcers.plan import Plan
from shieldwall.enforcers.registry import NoteSink, make_enforcer
from shieldwall.enforcers.store import BlockStore
from shieldwall.errors import EnforcerError, HubError, SignalError
from shieldwall.events import engine
from shieldwall.events.packs import load_pack
from shieldwall.readiness.applied import AppliedLog
from shieldwall.readiness.stream_report import Following, report_following
from shieldwall.signals.member_state import STATE_FILE, MemberState, load_member_state
from shieldwall.sources import SourceSpec, make_source
from shieldwall.sources.state import PositionStore

log = logging.getLogger("shieldwall.agent")

TICK = 1.0
SEND_BACKOFF = (0.2, 15.0)
#: Refusals of a batch's content: sending the same signals again cannot succeed.
UNSENDABLE = frozenset({"malformed", "invalid-signal"})



def json_notes(stream: Any = None) -> NoteSink:
    """A note sink printing one JSON object per line with a wall-clock ``t``."""
    out = stream or sys.stdout
    encoder = msgspec.json.Encoder()

    def sink(event: str, fields: dict[str, Any]) -> None:
        out.write(encoder.encode({"t": time.time(), "event": event, **fields}).decode() + "\n")
        out.flush()

    return sink


def text_notes(stream: Any = None) -> NoteSink:
    """A note sink printing readable lines."""
    out = stream or sys.stderr

    def sink(event: str, fields: dict[str, Any]) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%H:%M:%S.%f")[:-3]
        details = " ".join(f"{k}={v}" for k, v in fields.items())
        out.write(f"{stamp} {event:<16} {details}\n")
        out.flush()

    return sink


class AgentRuntime:
    """Carries out the core's commands; see the module docstring."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        enforcer: Enforcer | None = None,
        notes: NoteSink | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.notes = notes or text_notes()
        self.data_dir = config.data_dir
        self.member: MemberState | None = None
        if (self.data_dir / STATE_FILE).exists():
            self.member = load_member_state(self.data_dir)
        self.state = AgentState.open(self.data_dir)
        self.store = BlockStore.open(self.data_dir)
        self.positions = PositionStore.load(self.data_dir / "positions.json")
        self.enforcer = enforcer if enforcer is not None else make_enforcer(config.enforce, self.notes)
        now = clock()
        self._store_version = self.store.version()
        self.core = AgentCore(
            load_scenarios(config.scenarios),
            detect_allow=parse_ranges(config.detect_allow, "detection.allow", widen=False),
            enforce_allow=_enforce_allowlist(config.enforce_allow, config.proxies + config.own_addresses),
            ipv6_prefix=config.ipv6_prefix,
            local_first=config.local_first,
            blocks=self.store.active(now),
            cursor=self.state.cursor(),
            guard=ProxyGuard(parse_ranges(config.proxies, "detection.proxies", widen=False),
                             parse_ranges(config.own_addresses, "detection.own_addresses", widen=False)
                             .with_entries(Labelled(net, "this host's address") for net in host_addresses())),
            reorder=config.reorder,
        )
        year = dt.datetime.fromtimestamp(now, dt.UTC).year
        for source in config.sources:
            self.core.add_source(source.label, [load_pack(source.pack)], year, source.max_auth_tries)
        self.supervisor = Supervisor()
        self._outbox = asyncio.Event()
        self._exports_dirty = True
        self.applied = 0
        #: When each alliance block was applied here: the next heartbeat tells the hub.
        self.applied_log = AppliedLog()
        self.repairs = 0
        self.follower: Following | None = None
        self.arsenal = ArsenalHook(self)  # the alliance's rules, hot-loaded (shieldwall.arsenal)
        self.drills = drill_member(self)  # this member's part in drills (shieldwall.drills)

    # -- commands -----------------------------------------------------------

    def handle(self, step: Callable[[float], list[Command]]) -> None:
        """Feed one input to the core (``step(now)``) and carry out its commands.

        First the core follows whatever another process (``shieldwall ban``,
        ``unban``, ``import``) changed in the block store, the one desired state:
        so no later reconcile or export works from a view older than the store.
        """
        now = self.clock()
        self.execute(self._follow_store(now))
        self.execute(step(now))

    def execute(self, commands: list[Command]) -> None:
        """Carry out commands in order; effects are synchronous and short."""
        now = self.clock()
        for command in commands:
            if isinstance(command, Enforce):
                self._enforce(command.plan, now)
            elif isinstance(command, Remember):
                if command.put:
                    self.store.put(command.put)
                if command.forget:
                    self.store.remove(command.forget)
            elif isinstance(command, Report):
                if self.member is not None:
                    self.state.queue(list(command.signals))
                    self._outbox.set()
                    self.arsenal.shipped(command.signals)  # measured like alliance rules
            elif isinstance(command, SaveCursor):
                self.state.set_cursor(command.cursor)
            elif isinstance(command, Note):
                self.notes(command.event, command.fields)

    def _enforce(self, plan: Plan, now: float) -> None:
        try:
            self.enforcer.apply(plan, now)
        except EnforcerError as exc:
            # The incremental change did not fit what the firewall holds (changed
            # behind our back?): make it match the whole desired state instead.
            self.notes("enforce.repair", {"error": str(exc)[:300]})
            self.enforcer.reconcile(self.core.blocks, now)
            self.repairs += 1  # a drill counts this against the firewall (shieldwall.drills)
        self.applied += 1
        self._exports_dirty = True

    def _follow_store(self, now: float) -> list[Command]:
        """The core's commands for what other processes changed in the store (cheap when nothing)."""
        version = self.store.version()
        if version == self._store_version:
            return []
        self._store_version = version
        return self.core.store_changed(self.store.active(now), now)

    # -- tasks ----------------------------------------------------------------

    async def run(self) -> None:
        """Start everything and run until cancelled."""
        self.notes("agent.start", {
            "data_dir": str(self.data_dir),
            "hub": self.member.hub if self.member else None,
            "member": self.member.name if self.member else None,
            "sources": [s.label for s in self.config.sources],
            "enforcer": self.enforcer.name,
            "blocks": len(self.core.blocks),
            "engine": engine.describe(),  # compiled or pure Python, and why
        })
        # One transaction makes the firewall match the persisted state.
        self.execute(self.core.startup(self.clock()))
        from shieldwall.readiness.monitor import start_readiness  # (imports this module)
        self.readiness = start_readiness(self)  # R1-R8 each [readiness] interval, heartbeats
        for source in self.config.sources:
            self.supervisor.start(source.label, functools.partial(self._read, source))
        if self.member is not None:
            self.supervisor.start("hub.send", self._send)
            self.supervisor.start("hub.follow", self._follow)
            self.supervisor.start("hub.proxies", self._declare_proxies)
            if self.state.backlog():
                self._outbox.set()
        self.supervisor.start("tick", self._tick)
        if self.drills is not None:
            self.supervisor.start("drills", self.drills.run)
        self.arsenal.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.supervisor.stop()
            self.positions.save()
            self.state.close()
            self.store.close()

    async def _declare_proxies(self) -> None:
        """Once at start: tell the hub this host's proxies (an empty list withdraws old ones).

        Unreachable: raised, so the supervisor retries with backoff. Refused (the hub
        answered no, or is too old to know the request): said once, not retried.
        """
        from shieldwall.signals.client import HubClient

        assert self.member is not None  # started only for a member
        async with HubClient(self.member) as hub:
            try:
                stored = await hub.declare_proxies(self.config.proxies)
            except SignalError as exc:
                self.notes("hub.proxies.refused", {"proxies": list(self.config.proxies), "why": str(exc)})
                return
        self.notes("hub.proxies", {"proxies": stored})

    async def _read(self, source: SourceSpec) -> None:
        async for chunk in make_source(source, self.positions).chunks():
            self.handle(functools.partial(self.core.lines, source.label, chunk))
            self.arsenal.lines(source, chunk)

    async def _send(self) -> None:
        from shieldwall.signals.client import HubClient

        if self.member is None:
            return
        delay = SEND_BACKOFF[0]
        async with HubClient(self.member) as hub:
            while True:
                await self._outbox.wait()
                pending = self.state.pending(self.config.batch_size)
                if not pending:
                    self._outbox.clear()
                    continue
                try:
                    ack = await hub.send([signal for _, signal in pending])
                except SignalError as exc:
                    if exc.reason not in UNSENDABLE:
                        raise
                    # The hub will never take this batch: retrying it would stall
                    # every later signal behind it.
                    self.state.sent([row_id for row_id, _ in pending])
                    self.notes("signal.dropped", {"signals": len(pending), "reason": exc.reason,
                                                  "error": str(exc)[:200]})
                    continue
                except HubError as exc:
                    # Keep detecting and enforcing locally; the outbox keeps the signals.
                    self.notes("hub.unreachable", {"error": str(exc)[:200],
                                                   "backlog": self.state.backlog()})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, SEND_BACKOFF[1])
                    continue
                delay = SEND_BACKOFF[0]
                self.state.sent([row_id for row_id, _ in pending])
                self.notes("signal.acked", {"signals": len(pending), "status": ack.status,
                                            "seq": ack.seq})

    async def _follow(self) -> None:
        from shieldwall.decisions.follow import DecisionFollower

        if self.member is None:
            return
        # Under a council, only decisions its hub signed under its policy reach the core.
        gate = CouncilGate.open(self.member, self.notes, self.clock)
        after = self.core.cursor if gate is None else gate.after
        async with DecisionFollower(self.member, after=after) as follower, contextlib.aclosing(
                follower if gate is None else gate.verified(follower)) as decisions:
            self.follower = follower  # its stream state, reported each tick (readiness R1)
            follower.on_moved = lambda old, new, cursor: self.notes(
                "stream.moved", {"from": old, "to": new, "cursor": cursor})
            # `shieldwall status` (another process) sees the stream come up or go down at
            # once, not only at the next tick's report.
            follower.on_link = lambda: report_following(self.data_dir, follower, self.clock())
            async for decision in decisions:
                received, repairs = self.clock(), self.repairs
                self.handle(functools.partial(self.core.decision, decision))
                if self.core.held == decision.cursor and not decision.drill:
                    # After the enforcer ran: the firewall holds it now (drills time their own).
                    self.applied_log.record(decision.cursor, self.clock())
                if decision.drill and self.drills is not None:  # timed and read back there
                    self.drills.decision(decision, received, self.repairs > repairs)
        if follower.incident is not None:
            # The hub's log went behind this member's cursor: blocks stay, following stops
            # (the supervisor does not restart a task that ended), and the operator is told.
            self.notes("hub.incident", {"error": follower.incident[:300], "cursor": self.core.cursor})

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self.tick()

    def tick(self) -> None:
        """Once a second: follow the block store, expire blocks, regenerate the exports."""
        self.handle(self.core.expire)
        if self.follower is not None:
            report_following(self.data_dir, self.follower, self.clock())
        if self.config.exports_dir and self._exports_dirty:
            self._exports_dirty = False
            now = self.clock()
            write_exports(Path(self.config.exports_dir), self.core.blocks.values(), now)


def _enforce_allowlist(entries: tuple[str, ...], protected: tuple[str, ...] = ()) -> Ranges:
    """The configured allowlist plus this host's own addresses and its declared proxies.

    The hub judges other members' reports of this host's proxies as usual (hub/proxies.py):
    whatever the alliance decides, this host never blocks what it declared its own.
    """
    own = (Labelled(net, "this host's address") for net in host_addresses())
    declared = parse_ranges(protected, "detection.proxies / detection.own_addresses", widen=False)
    return parse_ranges(entries, "enforce.allow").with_entries(own).with_entries(declared.entries)
