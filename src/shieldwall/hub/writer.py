"""The hub's single writer: the driver around the pure :class:`~shieldwall.hub.intake.Intake`.

Every accepted envelope goes through one task. It takes whatever has queued up
(up to ``max_group`` envelopes), reads from the ledger the digests the intake
needs, lets the intake decide what to write and answer, writes the whole group
in one durable transaction, and only then acknowledges the envelopes and
publishes the new decisions. While one commit waits for its fsync, the next
group queues: that is group commit.

A group whose write fails is retried envelope by envelope, so one envelope the
ledger cannot take (a poison value) fails alone, never its neighbours. The
intake's memory is a cache of the ledger, rebuilt at start, after a failed
write, and whenever another process (``shieldwall hub lift``/``expel``) wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from shieldwall.decisions.feed import Feed
from shieldwall.errors import HubError, SignalError
from shieldwall.hub.intake import Intake, Step, member_guards
from shieldwall.hub.intake import decision_record as decision_record  # admin's import
from shieldwall.hub.ledger.storage import Ledger
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.policy import Policy
from shieldwall.hub.policy_config import PolicyConfig
from shieldwall.hub.policy_view import build_policy, member_protections
from shieldwall.hub.protections import Protections
from shieldwall.hub.proxies import guard_ranges
from shieldwall.hub.trust import quarantines
from shieldwall.signals.envelope import Ack, OpenedEnvelope

if TYPE_CHECKING:
    from shieldwall.hub.governance_council import HubCouncil

log = logging.getLogger(__name__)

#: How often the writer sweeps memory and writes the head mark; and expires old rows.
HOUSEKEEPING = 1.0
RETENTION_EVERY = 60.0
RETENTION_BATCH = 10_000


@dataclass(slots=True)
class _Pending:
    opened: OpenedEnvelope
    future: asyncio.Future[Ack]
    #: Already retried on its own after a failed group: a second failure is final.
    solo: bool = False


@dataclass(slots=True)
class _Prepared:
    step: Step
    items: list[_Pending]


class Writer:
    """The one task that writes signals and decisions to the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        config: PolicyConfig,
        base: Protections,
        feed: Feed,
        metrics: HubMetrics,
        clock: Callable[[], float],
        max_group: int = 512,
        idle_check: float = 0.25,
        signals_per_hour: int = 200_000,
        retention: float = 90 * 86400.0,
        operators: frozenset[str] = frozenset(),
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.base = base
        self.feed = feed
        self.metrics = metrics
        self.clock = clock
        self.max_group = max_group
        self.idle_check = idle_check
        self.signals_per_hour = signals_per_hour
        self.retention = retention
        self.operators = operators
        self.intake = Intake(Policy(config, base), {}, signals_per_hour, operators)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._solo: deque[_Pending] = deque()
        self._reload_needed = True
        self._members_changed = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._write_error: str | None = None
        self._last_write = 0.0
        self._last_probe = 0.0
        self._marked = -1
        self._housekept = 0.0
        self._expired = 0.0
        #: Seconds between retention sweeps.
        self.retention_every = RETENTION_EVERY
        #: Members whose reports do not count toward a quorum now (the readiness roster's).
        self.discounted: Callable[[], frozenset[str]] = frozenset
        #: The council this hub runs under (gate, policy version, chain), if any.
        self.governed: HubCouncil | None = None
        #: scenario -> alliance rule version (``name@version``) of the enforcing arsenal rules,
        #: kept by :mod:`shieldwall.hub.arsenal_api`: what a decision names when its signal
        #: named no rule (an older agent).
        self.rules: dict[str, str] = {}
        self.crashes = 0

    @property
    def policy(self) -> Policy:
        """The policy engine the intake runs."""
        return self.intake.policy

    async def start(self) -> None:
        """Rebuild caches from the ledger and start the writer task."""
        await self.ledger.changed_elsewhere()  # take the baseline data version
        await self._reload()
        self._task = asyncio.create_task(self._supervise(), name="hub-writer")

    async def stop(self) -> None:
        """Stop the task; envelopes still queued are refused (their senders retry)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight is not None:
            with contextlib.suppress(Exception):
                await self._inflight
            self._inflight = None
        with contextlib.suppress(Exception):
            await self.ledger.mark_head(self.feed.head)
        leftovers = list(self._solo)
        while not self._queue.empty():
            leftovers.append(self._queue.get_nowait())
        for pending in leftovers:
            if not pending.future.done():
                pending.future.set_exception(HubError("hub is shutting down; retry"))

    async def submit(self, opened: OpenedEnvelope) -> Ack:
        """Queue an opened envelope; returns once it is durable (or raises SignalError)."""
        if self.governed is not None and (problem := self.governed.problem()) is not None:
            raise HubError(f"the hub refuses to decide: {problem}")
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(opened, future))
        return await future

    def note_cursor(self, member: str, cursor: int, now: float) -> None:
        """Remember where a member resumed its stream (written with the next group)."""
        self.intake.note_cursor(member, cursor, now)

    def note_rejection(self, member: str) -> None:
        """Count a rejected envelope against an authenticated member."""
        self.intake.note_rejection(member)

    def replace_policy(self, config: PolicyConfig, base: Protections) -> None:
        """Run a new policy and protections (the council's) from the next group on."""
        self.config, self.base = config, base
        self._reload_needed = True

    def membership_changed(self) -> None:
        """A member joined or left in this process: rebuild protections before the next group."""
        self._members_changed = True

    def over_quota(self, member: str) -> str | None:
        """Why ``member`` may send no envelope now (checked before any body), or ``None``."""
        return self.intake.quota_problem(member, self.clock())

    def active_targets(self) -> list[str]:
        """Targets blocked now (a newcomer may not claim them as its own)."""
        now = self.clock()
        return [t for t, block in self.policy.active.items() if block.until > now]

    async def readiness(self) -> str | None:
        """Why the hub cannot take envelopes now, or ``None`` when it can."""
        if self._task is None or self._task.done():
            return "the ledger writer is not running"
        if self.governed is not None and (problem := self.governed.problem()) is not None:
            return f"the hub refuses to decide: {problem}"
        now = time.monotonic()
        stale = now - self._last_write > 2.0
        # At most one probe a second, however often /readyz is asked (it is unauthenticated).
        if (self._write_error is not None or stale) and now - self._last_probe >= 1.0:
            self._last_probe = now
            try:
                await self.ledger.probe(self.clock())
            except HubError as exc:
                self._write_error = str(exc)
            else:
                self._write_error = None
                self._last_write = now
        if self._write_error is not None:
            return f"the ledger does not take writes: {self._write_error}"
        return None

    # -- internals -----------------------------------------------------------------
    async def _reload(self) -> None:
        now = self.clock()
        # Cleared before reading: a member joining while this runs is refreshed next time.
        self._members_changed = False
        policy = await build_policy(self.ledger, self.config, self.base, now)
        self.intake = Intake(
            policy, await self.ledger.last_seqs(), self.signals_per_hour, self.operators,
            member_guards(await self.ledger.members(), guard_ranges(await self.ledger.declared_proxies())),
        )
        self.intake.restore_volume(await self.ledger.recent_volume(now - 3600.0), now)
        self._reload_needed = False
        await self._cut_departed()
        await self.feed.catch_up()

    async def _cut_departed(self) -> None:
        gone = {m.name for m in await self.ledger.members() if not m.active}
        if gone and self.feed.cut(gone):
            log.info("ended the decision streams of departed members")

    async def _supervise(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.crashes += 1
                log.exception("hub writer crashed; restarting in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                self._reload_needed = True

    async def _next(self) -> list[_Pending]:
        if self._solo:
            return [self._solo.popleft()]
        try:
            first = await asyncio.wait_for(self._queue.get(), self.idle_check)
        except TimeoutError:
            return []
        items = [first]
        while len(items) < self.max_group and not self._queue.empty():
            items.append(self._queue.get_nowait())
        return items

    async def _run(self) -> None:
        # Pipelined: while group N is being written (fsync in the ledger's thread),
        # group N+1 is checked and run through the policy here. N+1's write starts
        # only after N is durable; if N fails, N+1 (computed on top of it) is retried
        # envelope by envelope once the intake is rebuilt from the ledger.
        last_check = time.monotonic()
        while True:
            items = await self._next()
            due = time.monotonic() - last_check >= self.idle_check
            if not items or due or self._reload_needed or self._members_changed:
                await self._settle()
                await self._refresh()
                await self._housekeeping()
                last_check = time.monotonic()
            if not items and not (self.intake.cursors or self.intake.rejected):
                continue
            try:
                prepared = await self._prepare(items)
            except Exception as exc:
                # Never leave a sender waiting: refuse the group, then let the
                # supervisor log, count and restart (with caches rebuilt).
                for pending in items:
                    if not pending.future.done():
                        pending.future.set_exception(HubError(f"hub failed, retry: {exc}"))
                raise
            await self._settle()
            if self._reload_needed:
                self._retry_alone(prepared, HubError("the previous write failed; retry"),
                                  attempted=False)
                continue
            self._inflight = asyncio.create_task(self._finish(prepared))

    async def _settle(self) -> None:
        """Wait for the write in flight, if any."""
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def _refresh(self) -> None:
        if await self.ledger.changed_elsewhere():
            self._reload_needed = True
        if self._reload_needed:
            await self._reload()
        elif self._members_changed:
            members = await self.ledger.members()
            self.policy.protections = self.base.with_entries(member_protections(members))
            self.policy.trust.rejoin({m.name: m.joined for m in members})
            self._members_changed = False
            await self._cut_departed()

    async def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._housekept < HOUSEKEEPING:
            return
        self._housekept = now
        self.intake.sweep(self.clock())
        if self.feed.head != self._marked:
            await self.ledger.mark_head(self.feed.head)
            self._marked = self.feed.head
        if now - self._expired < self.retention_every:
            return
        self._expired = now
        try:
            removed = await self.ledger.expire(self.clock() - self.retention, RETENTION_BATCH)
        except HubError as exc:
            log.warning("%s; retrying at the next sweep", exc)
            return
        if removed:
            log.info("retention: removed %d signals older than %.0f days", removed,
                     self.retention / 86400)

    async def _prepare(self, items: list[_Pending]) -> _Prepared:
        digests: dict[tuple[str, int], str] = {}
        for pending in items:
            opened = pending.opened
            if self.intake.needs_digest(opened):
                digest = await self.ledger.batch_digest(opened.member, opened.seq)
                if digest is not None:
                    digests[(opened.member, opened.seq)] = digest
        self.policy.discounted = self.discounted()
        step = self.intake.take([p.opened for p in items], digests, self.clock())
        if self.governed is not None:  # every decision names the policy version it was made under
            version = self.governed.version
            step.group.decisions = [msgspec.structs.replace(d, policy=version)
                                    for d in step.group.decisions]
        if self.rules:
            # The signal's own rule version first (agents name it); else the published set's.
            step.group.decisions = [
                msgspec.structs.replace(d, rule=d.rule or self.rules.get(d.scenario, ""))
                for d in step.group.decisions]
        return _Prepared(step, items)

    def _retry_alone(self, prepared: _Prepared, error: Exception, attempted: bool = True) -> None:
        """After a failed write: retry each envelope on its own, or fail it if it was.

        ``attempted`` is False for a group never written because the one before failed.
        """
        self.intake.failed(prepared.step)
        again: list[_Pending] = []
        for pending, answer in zip(prepared.items, prepared.step.answers, strict=True):
            if pending.future.done():
                continue
            if attempted and (pending.solo or len(prepared.items) == 1):
                pending.future.set_exception(answer if isinstance(answer, SignalError) else error)
            else:
                # Its answer may rest on a neighbour that was never written: decide again,
                # on its own, before anything that arrived later.
                pending.solo = True
                again.append(pending)
        self._solo.extendleft(reversed(again))

    async def _finish(self, prepared: _Prepared) -> None:
        step = prepared.step
        group = step.group
        try:
            cursors = await self.ledger.write(group) if group else []
        except Exception as exc:
            # Nothing was written: the intake's memory ran ahead of the ledger.
            log.error("ledger write failed; rebuilding state from the ledger: %s", exc)
            self._reload_needed = True
            self._write_error = str(exc)
            self._retry_alone(prepared, HubError(f"could not make the batch durable, retry: {exc}"))
            return
        self._write_error = None
        self._last_write = time.monotonic()
        self.intake.settled(step)
        for event in quarantines(group.journal):
            log.warning("member %r quarantined: %s (journal kind 'trust'; release with"
                        " `shieldwall hub release`)", event.member, event.reason)
        if group.batches:
            self.metrics.commits += 1
            self.metrics.committed_envelopes += len(group.batches)
        for pending, answer in zip(prepared.items, step.answers, strict=True):
            if pending.future.done():
                continue
            if isinstance(answer, SignalError):
                self.metrics.rejected[answer.reason] += 1
                if answer.reason == "quota":
                    self.metrics.quota["signals"] += 1
                pending.future.set_exception(answer)
                continue
            if answer.status == "duplicate":
                self.metrics.envelopes_duplicate += 1
            else:
                self.metrics.envelopes_accepted += 1
                self.metrics.signals_accepted += answer.signals
                answer = Ack(answer.status, answer.seq, answer.signals,
                             tuple(cursors[i] for i in answer.decisions))
            pending.future.set_result(answer)
        if cursors:
            published = [
                record.decision(cursor)
                for cursor, record in zip(cursors, group.decisions, strict=True)
            ]
            for decision in published:
                self.metrics.decisions[decision.action] += 1
            await self.feed.publish(published)
            if self.governed is not None:
                self.governed.published(published)
