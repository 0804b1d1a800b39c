"""The member's drill task: fetch orders, refuse or run them, report each stage signed.

Runs under the agent's supervisor (``drills`` task). Orders are fetched with signed
requests (``GET /v1/drills/orders``); the hub's identity key is pinned on first use in
``drills.json`` beside the seen order ids (replays are refused even after a restart).
A member under a council (``council.json``) takes orders from its chair only: it reads
the act log from the hub and verifies it from the pinned charter before it judges an
order naming it (:mod:`.authority`). An accepted order runs the chain on this member:
synthetic lines through the real pack and scenarios (:func:`~.inject.rehearse`), the
drill signal to the hub, then the drill decision as it arrives over the agent's real
decision stream (the agent applies it in its real enforcer;
:meth:`DrillMember.decision` is the hook), read back from the firewall, and the lift,
read back too. Each stage is reported with this member's signature; the hub conductor
judges the whole.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from shieldwall.addresses import Ranges, target_network
from shieldwall.agent.core import signal_of
from shieldwall.agent.council_gate import load_council_file
from shieldwall.agent.supervise import Supervisor
from shieldwall.decisions.decision import Decision
from shieldwall.detection.scenario import Scenario
from shieldwall.drills.arrivals import Arrivals
from shieldwall.drills.authority import signer_key
from shieldwall.drills.inject import rehearse
from shieldwall.drills.order import DrillOrder, OrderBody, Refusal, decode_order, refusal
from shieldwall.drills.stage import Failure, StageReport, Step, sign_stage
from shieldwall.enforcers.enforcer import Enforcer
from shieldwall.errors import GovernanceError, HubError, SignalError
from shieldwall.events.packs import PackSpec
from shieldwall.governance.record import ActRecord
from shieldwall.governance.standing import Standing, standing
from shieldwall.signals.keys import key_id_of
from shieldwall.signals.member_state import MemberState

log = logging.getLogger("shieldwall.drills")
POLL = 1.0
#: Seconds the hub may hold an order request open (its maximum is 8).
WAIT = 5
STATE = "drills.json"
MAX_SEEN = 1000
Notes = Callable[[str, dict[str, Any]], None]


class _State(msgspec.Struct):
    after: int = 0
    hub_key: str = ""
    seen: list[str] = msgspec.field(default_factory=list)
    #: When the last scheduled drill accepted here was issued (a standing order's pace).
    scheduled: float = 0.0


class _Page(msgspec.Struct):
    hub_key: str
    last: int
    orders: list[msgspec.Raw] = msgspec.field(default_factory=list)


@dataclass
class DrillMember:
    """This member's part in drills; see the module docstring."""

    member: MemberState
    packs: Sequence[PackSpec]
    scenarios: Sequence[Scenario]
    detect_allow: Ranges
    enforce_allow: Ranges
    enforcer: Enforcer
    clock: Callable[[], float]
    notes: Notes
    ipv6_prefix: int = 64
    arrivals: Arrivals = field(init=False)
    #: The drills under way here, one task each.
    running: Supervisor = field(default_factory=Supervisor)

    def __post_init__(self) -> None:
        self.arrivals = Arrivals(self._holds, self.clock)

    def decision(self, decision: Decision, received: float, repaired: bool = False) -> None:
        """The agent's hook: a drill decision arrived (and was applied) at ``received``.

        ``repaired``: applying it failed and the agent rebuilt the table, so the firewall
        did not hold this member's blocks when the drill block came (the enforce stage fails).
        """
        self.arrivals.add(decision, received, repaired)

    # -- state ----------------------------------------------------------------

    @property
    def _path(self) -> Path:
        return self.member.data_dir / STATE

    def _load(self) -> _State:
        try:
            return msgspec.json.decode(self._path.read_bytes(), type=_State)
        except FileNotFoundError:
            return _State()
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            # Losing the seen list only weakens replay refusal to the TTL check.
            log.warning("%s unreadable (%s); starting afresh", self._path, exc)
            return _State()

    def _save(self, state: _State) -> None:
        state.seen = state.seen[-MAX_SEEN:]
        tmp = self._path.with_name(STATE + ".tmp")
        tmp.write_bytes(msgspec.json.encode(state))
        os.replace(tmp, self._path)

    # -- the task -----------------------------------------------------------

    async def run(self) -> None:
        """Poll for orders and read drill decisions back, until cancelled."""
        from shieldwall.signals.client import HubClient

        state = self._load()
        async with HubClient(self.member) as hub:
            try:
                await asyncio.gather(self._orders(hub, state), self.arrivals.read_back())
            finally:
                await self.running.stop()

    async def _orders(self, hub: Any, state: _State) -> None:
        while True:
            started = self.clock()
            try:
                await self._round(hub, state)
            except (HubError, SignalError) as exc:
                self.notes("drill.unreachable", {"error": str(exc)[:200]})
            # The hub holds the request until an order comes (long poll); a hub that
            # answers at once is asked again after POLL.
            await asyncio.sleep(max(0.0, POLL - (self.clock() - started)))

    async def _round(self, hub: Any, state: _State) -> None:
        response = await hub.request("GET", f"/v1/drills/orders?after={state.after}&wait={WAIT}")
        if response.status_code != 200:
            raise HubError(f"drill orders: hub answered {response.status_code}")
        page = msgspec.json.decode(response.content, type=_Page)
        if not state.hub_key:
            state.hub_key = page.hub_key  # pinned on first use, over the pinned TLS channel
        trusted = {key_id_of(bytes.fromhex(state.hub_key)): state.hub_key}
        named: list[DrillOrder] = []
        for raw in page.orders:
            try:
                order = decode_order(bytes(raw))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                self.notes("drill.unreadable", {"error": str(exc)[:200]})
                continue
            if self.member.name in order.body.members:
                named.append(order)
        council: Standing | None = None
        problem = ""
        if named and load_council_file(self.member.data_dir) is not None:
            try:
                council = await self._council(hub)
            except (GovernanceError, HubError, SignalError) as exc:
                problem = str(exc)[:300]
        for order in named:
            why = self._judge(order, council, problem, trusted, state)
            if order.body.id in state.seen:
                # Answered once already (run or refused): a second answer only adds noise.
                self.notes("drill.refused", {"drill": order.body.id, "reason": "replay",
                                             "detail": f"order {order.body.id} was already"
                                                       " received here: a replay"})
                continue
            state.seen.append(order.body.id)
            if why is not None:
                self.notes("drill.refused", {"drill": order.body.id, "reason": why.reason,
                                             "detail": why.detail})
                now = self.clock()
                await self._send(hub, [self._report(order.body, "accept", False, now, now,
                                                    "refused", f"{why.reason}: {why.detail}")])
                continue
            if order.standing is not None:
                state.scheduled = float(order.body.issued)
            # Each drill runs on its own (supervised): a drill waiting for its block or
            # lift must not keep this member from the next order.
            running = self.running.tasks
            self.running.tasks = {n: t for n, t in running.items() if not t.done()}
            self.running.start(f"drill {order.body.id}", functools.partial(self._drill, hub, order))
        state.after = page.last
        self._save(state)

    def _judge(self, order: DrillOrder, council: Standing | None, problem: str,
               trusted: dict[str, str], state: _State) -> Refusal | None:
        """Why this member refuses ``order`` (its signer first, then the order itself)."""
        now = self.clock()
        if problem:
            return Refusal("council", "this member could not verify the council's act log, so"
                                      f" it cannot tell who chairs: {problem}")
        public = signer_key(order, council, trusted, now, state.scheduled or None)
        if isinstance(public, Refusal):
            return public
        return refusal(order, {order.signature.key_id: public}, now, set(state.seen))

    async def _council(self, hub: Any) -> Standing:
        """The council's standing, verified here from the charter pinned at join."""
        file = load_council_file(self.member.data_dir)
        if file is None:
            raise GovernanceError("no-council", "this member pinned no charter")
        response = await hub.request("GET", "/v1/council/acts")
        if response.status_code != 200:
            raise HubError(f"the council's act log: hub answered {response.status_code}")
        try:
            records = msgspec.json.decode(response.content, type=list[ActRecord])
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise GovernanceError("malformed", f"the hub's act log is not valid: {exc}") from None
        known = (file.acts_seq, bytes.fromhex(file.acts_head)) if file.acts_seq else None
        return standing(records, bytes.fromhex(file.pinned), int(self.clock()), known)

    def _report(self, order: OrderBody, stage: Step, ok: bool, started: float, at: float,
                failure: Failure = "", detail: str = "", **extra: Any) -> StageReport:
        return StageReport(drill=order.id, member=self.member.name, stage=stage, ok=ok,
                           started=started, at=at, failure=failure, detail=detail[:1000], **extra)

    async def _send(self, hub: Any, reports: list[StageReport]) -> bool:
        """Post signed stage reports in one request (fewer requests: less load in a drill)."""
        body = msgspec.json.encode([sign_stage(self.member.seed, r) for r in reports])
        for _ in range(10):
            try:
                response = await hub.request("POST", "/v1/drills/stages", body)
            except SignalError as exc:  # refused: sending it again cannot help
                self.notes("drill.report-refused", {"drill": reports[0].drill,
                                                    "stages": [r.stage for r in reports],
                                                    "error": str(exc)[:200]})
                return False
            except HubError:
                await asyncio.sleep(0.5)
                continue
            return bool(response.status_code == 200)
        return False

    async def _drill(self, hub: Any, order: DrillOrder) -> None:
        body = order.body
        self.notes("drill.accepted", {"drill": body.id, "target": body.target})
        now = self.clock()
        accepted = self._report(body, "accept", True, now, now)
        table = await asyncio.to_thread(self._table_problem, now)
        if not body.runs("push"):
            await self._chain(hub, body, accepted)
            return
        # The drill block is awaited from the start: another member's signal may decide
        # it before this one's, and the block is timed from its arrival either way.
        await asyncio.gather(self._chain(hub, body, accepted), self._enforce(hub, body, table))

    async def _chain(self, hub: Any, body: OrderBody, accepted: StageReport) -> None:
        """Detect and signal: this member's half of the chain, reported in one request."""
        started = self.clock()
        found = rehearse(body.target, self.packs, self.scenarios, self.detect_allow, started,
                         self.ipv6_prefix)
        detected = self.clock()
        if found.detection is None:
            await self._send(hub, [accepted, self._report(body, "detect", False, started,
                                                          detected, found.failure, found.detail)])
            return
        reports = [accepted, self._report(
            body, "detect", True, started, detected,
            detail=f"{found.detection.scenario} after {found.lines} {found.pack} lines")]
        if body.runs("signal"):
            reports.append(self._report(body, "signal", True, detected, self.clock(),
                                        signal=signal_of(found.detection)))
        await self._send(hub, reports)

    async def _enforce(self, hub: Any, body: OrderBody, table: str | None) -> None:
        pushed = await self.arrivals.wait(body.id, "block", body.expires)
        if pushed is None:
            return  # the conductor fails this member's push stage by its deadline
        decision, received, at = pushed.decision, pushed.received, pushed.read_at
        if pushed.repaired and table is None:
            table = ("applying the drill block failed and the agent rebuilt table inet shieldwall:"
                     " the firewall did not hold this member's blocks (table missing or changed)")
        push = self._report(body, "push", True, decision.created, received,
                            cursor=decision.cursor)
        protected = self.enforce_allow.protecting(target_network(body.target))
        held = bool(pushed.confirmed)
        if protected is not None:
            enforce = self._report(body, "enforce", False, received, at, "protected",
                                   f"enforce.allow here covers {body.target} ({protected})")
        elif table is not None:
            enforce = self._report(body, "enforce", False, received, at, "table", table)
        else:
            enforce = self._report(body, "enforce", held, received, at,
                                   "" if held else "missing",
                                   "" if held else f"{body.target} is not in the firewall after"
                                   " the drill block was applied", cursor=decision.cursor)
        await self._send(hub, [push, enforce])
        lifted = await self.arrivals.wait(body.id, "lift", body.expires)
        if lifted is None:
            return
        gone = bool(lifted.confirmed)
        await self._send(hub, [self._report(
            body, "lift", gone, lifted.received, lifted.read_at, "" if gone else "missing",
            "" if gone else f"{body.target} is still in the firewall after the lift",
            cursor=lifted.decision.cursor)])

    def _table_problem(self, now: float) -> str | None:
        """Why the firewall could not have held this member's blocks right now, if so."""
        state = getattr(self.enforcer, "state", None)
        if state is None:
            return None  # not nftables: nothing to check beyond the read-back
        try:
            table = state(now)
        except Exception as exc:
            return f"the firewall could not be read: {exc}"[:300]
        if table is None:
            return "table inet shieldwall was missing when the drill began (blocks were not enforced)"
        if not table.intact:
            return f"table inet shieldwall is damaged: {'; '.join(table.problems)[:250]}"
        return None

    def _holds(self, target: str) -> bool:
        try:
            return target in self.enforcer.current(self.clock())
        except Exception:
            return False


def for_runtime(runtime: Any) -> DrillMember | None:
    """The drill task of an :class:`~shieldwall.agent.runtime.AgentRuntime` (``None``: not joined).

    Built from the runtime's own configuration, so a drill runs this member's packs,
    scenarios, allowlists and enforcer, nothing else.
    """
    from shieldwall.addresses import parse_ranges
    from shieldwall.detection.scenario import load_scenarios
    from shieldwall.events.packs import load_pack

    if runtime.member is None:
        return None
    config = runtime.config
    return DrillMember(
        member=runtime.member,
        packs=[load_pack(source.pack) for source in config.sources],
        scenarios=load_scenarios(config.scenarios),
        detect_allow=parse_ranges(config.detect_allow, "detection.allow", widen=False),
        enforce_allow=runtime.core.enforce_allow,
        enforcer=runtime.enforcer,
        clock=runtime.clock,
        notes=runtime.notes,
        ipv6_prefix=config.ipv6_prefix,
    )
