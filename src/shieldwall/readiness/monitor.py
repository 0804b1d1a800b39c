"""The running agent checks itself: every ``[readiness] interval``, probe, judge, tell the hub.

One round: the local probes (table read-back, sources, packs, outbox; blocking, so in
a thread), the decision stream as the agent's own follower shows it, the hub as the
last heartbeat exchange showed it (the first round asks the hub once, as ``status``
does), the pure evaluation, then the signed heartbeat carrying every check. The
hub's answer (its clock and head, the alliance's versions and drills) is saved for
``shieldwall status`` and judged at once: :attr:`Monitor.verdict` is what ``/readyz``
serves. Runs under the agent's supervisor (:func:`start_readiness`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from shieldwall.enforcers.nftables import NftablesEnforcer, open_runner
from shieldwall.errors import ConfigError, HubError, ShieldwallError, SignalError
from shieldwall.readiness.alliance_cache import drill_of, save_answer, with_alliance
from shieldwall.readiness.applied import AppliedLog
from shieldwall.readiness.evaluate import Observation, evaluate
from shieldwall.readiness.heartbeat import (
    MAX_INTERVAL,
    MIN_INTERVAL,
    HeartbeatAnswer,
    decode_answer,
    encode,
    heartbeat_of,
)
from shieldwall.readiness.link import HubView, StreamView
from shieldwall.readiness.observe import observe_local
from shieldwall.readiness.probe_hub import ask_hub
from shieldwall.readiness.stream_report import Following
from shieldwall.readiness.verdict import Verdict

if TYPE_CHECKING:
    from shieldwall.agent.config import AgentConfig
    from shieldwall.agent.runtime import AgentRuntime
    from shieldwall.enforcers.registry import NoteSink
    from shieldwall.signals.client import HubClient
    from shieldwall.signals.member_state import MemberState

log = logging.getLogger("shieldwall.agent")

#: Checks judged by the hub's answer (left out of a heartbeat sent before any answer).
ANSWER_CHECKS = frozenset({"R5", "R8"})
#: Seconds the first round waits for the decision stream to connect.
STARTUP_WAIT = 5.0
#: The answer's clock has milliseconds (and the hub's own latency), unlike ``Date``.
ANSWER_PRECISION = 0.01


class Monitor:
    """The agent's readiness loop; see the module docstring."""

    def __init__(
        self,
        config: AgentConfig,
        member: MemberState | None,
        following: Callable[[], Following | None],
        notes: NoteSink,
        clock: Callable[[], float] = time.time,
        applied: AppliedLog | None = None,
    ) -> None:
        self.config = config
        self.limits = config.readiness
        self.member = member
        self.following = following
        self.notes = notes
        self.clock = clock
        #: The last judgement (``None`` before the first round ends).
        self.verdict: Verdict | None = None
        #: Rounds completed (each one a heartbeat when joined).
        self.rounds = 0
        self._hub: HubView | None = None if member is not None else HubView(joined=False)
        self._client: HubClient | None = None
        self._nft: NftablesEnforcer | None = None
        self._sent_at = 0.0
        #: Blocks applied since the last accepted heartbeat (the runtime records them).
        self.applied = applied if applied is not None else AppliedLog()
        #: False once the hub refused a heartbeat carrying them (a hub older than the field).
        self._hub_takes_applied = True

    async def run(self) -> None:
        """Judge and report every interval until cancelled."""
        try:
            await self._settle_in()
            while True:
                await self.round()
                await asyncio.sleep(self.limits.interval)
        finally:
            await self.close()

    async def _settle_in(self) -> None:
        """Before the first round, give the decision stream a moment to connect: a
        first heartbeat saying "stream down" would flap the roster on every restart."""
        if self.member is None or self.rounds:
            return
        waited = 0.0
        while waited < min(STARTUP_WAIT, self.limits.interval):
            follower = self.following()
            if follower is not None and follower.connected:
                return
            await asyncio.sleep(0.1)
            waited += 0.1

    async def close(self) -> None:
        """Close the connection to the hub (kept between rounds)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def round(self) -> Verdict:
        """One round (see the module docstring); returns the verdict published."""
        local = await asyncio.to_thread(observe_local, self.config, self.clock(),
                                        enforcer=self._table_reader())
        if self._hub is None and self.member is not None:
            self._hub = await ask_hub(self.member, local.outbox.cursor or 0,
                                      timeout=self.limits.hub_timeout, clock=self.clock)
        sent = self._judge(local)
        if self.member is None:
            verdict = sent
        else:
            if local.versions.alliance is None:
                # Never answered yet: R5 and R8 would read "unknown" (degraded) to the hub.
                sent = Verdict(sent.at, tuple(c for c in sent.checks
                                              if c.code not in ANSWER_CHECKS))
            packs, cursor = dict(local.versions.local), local.outbox.cursor or 0
            self._hub, answer = await self._beat(self.member, sent, packs, cursor)
            if answer is not None:  # judged by what the hub just said, not the saved answer
                drill, drilled = drill_of(answer)
                local = replace(local, versions=with_alliance(local.versions, answer),
                                drill=drill, alliance_drilled=drilled)
            verdict = self._judge(local)
            if answer is not None and _states(verdict) != _states(sent):
                # The hub's answer changed a state: tell the hub now, not a round later.
                self._hub, _ = await self._beat(self.member, verdict, packs, cursor)
                verdict = self._judge(local)
        self._publish(verdict)
        return verdict

    def _table_reader(self) -> NftablesEnforcer | None:
        """One reader of the kernel table for the monitor's life (a libnftables context
        is not freed by the garbage collector: one per round would leak). Never closed
        here: a round cancelled mid-read may still be using it in its thread."""
        if self._nft is None and self.config.backend == "nftables" and not self.config.dry_run:
            try:
                self._nft = NftablesEnforcer(open_runner("auto"))
            except ShieldwallError:
                return None  # the round's own probe says why (R3)
        return self._nft

    def _judge(self, local: Observation) -> Verdict:
        now = self.clock()
        hub = self._hub or HubView()
        seen = replace(local, hub=replace(hub, stream=self._stream(now)))
        return evaluate(seen, now, self.limits, seed=self.rounds)

    def _stream(self, now: float) -> StreamView | None:
        if self.member is None:
            return None
        follower = self.following()
        if follower is None:
            return StreamView(connected=False, reported_at=now)
        return StreamView(follower.connected, now, follower.cursor, follower.head)

    async def _beat(self, member: MemberState, verdict: Verdict, packs: dict[str, str],
                    cursor: int) -> tuple[HubView, HeartbeatAnswer | None]:
        from shieldwall.signals.client import HubClient

        applied = self.applied.pending() if self._hub_takes_applied else ()
        # Strictly later than the last one sent: the hub refuses an equal time as a replay.
        self._sent_at = max(self.clock(), self._sent_at + 0.001)
        body = encode(heartbeat_of(member.name, verdict, self._sent_at,
                                   self.limits.interval, packs, applied))
        if self._client is None:  # kept between rounds: no TLS handshake per heartbeat
            self._client = HubClient(member, timeout=self.limits.hub_timeout, attempts=1,
                                     clock=self.clock)
        sent = self.clock()
        try:
            response = await self._client.request("POST", "/v1/heartbeat", body)
            answer = decode_answer(response.content)
            self.applied.sent(applied)
        except SignalError as exc:
            if exc.reason == "malformed" and applied and "applied" in str(exc):
                # A hub older than ``applied`` refuses the unknown field: beat without it.
                self._hub_takes_applied = False
                self.applied.sent(applied)
                return await self._beat(member, verdict, packs, cursor)
            if exc.reason == "not-found":  # a hub older than heartbeats: probe as `status` does
                return await ask_hub(member, cursor, timeout=self.limits.hub_timeout,
                                     clock=self.clock), None
            return HubView(hub=member.hub, refusal=exc.reason), None
        except HubError as exc:
            text = str(exc).removeprefix(f"hub at {member.hub} unreachable: ")
            return HubView(hub=member.hub, error=text), None
        received = self.clock()
        save_answer(self.config.data_dir, answer)
        return HubView(hub=member.hub, head=answer.head, date=answer.at,
                       date_precision=ANSWER_PRECISION, sent_at=sent,
                       received_at=received), answer

    def _publish(self, verdict: Verdict) -> None:
        before = self.verdict
        self.verdict = verdict
        self.rounds += 1
        states = {c.code: c.state for c in verdict.checks}
        if before is None or states != {c.code: c.state for c in before.checks}:
            self.notes("readiness", {
                "state": verdict.state, "checks": states,
                "not_ok": [f"{c.code}: {c.reason}" for c in verdict.checks if c.state != "ok"],
            })


def _states(verdict: Verdict) -> dict[str, str]:
    return {c.code: c.state for c in verdict.checks}


def check_interval(interval: float) -> None:
    """Refuse an interval the hub would refuse (raises :class:`ConfigError`)."""
    if not MIN_INTERVAL <= interval <= MAX_INTERVAL:
        raise ConfigError(f"[readiness] interval must be between {MIN_INTERVAL:g}s and"
                          f" {MAX_INTERVAL:g}s, got {interval:g}s")


def start_readiness(runtime: AgentRuntime) -> Monitor:
    """Start the readiness loop (and the ``/healthz``/``/readyz`` listener when
    ``[readiness] listen`` is set) under the runtime's supervisor."""
    from shieldwall.readiness.http_probe import ProbeListener, parse_listen

    limits = runtime.config.readiness
    check_interval(limits.interval)
    address = parse_listen(limits.listen) if limits.listen else None
    monitor = Monitor(runtime.config, runtime.member, lambda: runtime.follower,
                      runtime.notes, runtime.clock, runtime.applied_log)
    runtime.supervisor.start("readiness", monitor.run)
    if address is not None:
        listener = ProbeListener(monitor, *address)
        runtime.supervisor.start("readiness.listen", listener.serve)
    return monitor
