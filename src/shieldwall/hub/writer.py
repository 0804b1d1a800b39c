"""The hub's single writer: policy, sequence checks and group commit.

Every accepted envelope goes through one task. It takes whatever has queued up
(up to ``max_group`` envelopes), checks each one's sequence number, runs the
policy on each signal, writes the whole group in one durable transaction, and
only then acknowledges the envelopes and publishes the new decisions. While one
commit waits for its fsync, the next group queues: that is group commit.

The policy's memory and the per-member sequence numbers are caches of the
ledger, rebuilt at start, after a failed write, and whenever another process
(the operator's ``shieldwall hub lift``/``expel``) wrote to the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.decisions.feed import Feed
from shieldwall.errors import HubError, SignalError
from shieldwall.hub.ledger.storage import (
    BatchRecord,
    DecisionRecord,
    Ledger,
    MemberRecord,
    SignalRecord,
    WriteGroup,
)
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.policy import Block, Lift, Policy, PolicyConfig, canonical_target
from shieldwall.hub.protections import Protected, Protections
from shieldwall.signals.envelope import Ack, OpenedEnvelope, check_freshness, check_sequence

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Prepared:
    group: WriteGroup
    answers: list[tuple[_Pending, Ack | SignalError]]
    #: (member, seq) of the batches it applies: known to retries before they are durable.
    keys: list[tuple[str, int]]


@dataclass(slots=True)
class _Pending:
    opened: OpenedEnvelope
    future: asyncio.Future[Ack]


def member_protections(members: list[MemberRecord]) -> list[Protected]:
    """Every active member's own ranges, labelled with the member's name."""
    entries: list[Protected] = []
    for member in members:
        if not member.active:
            continue
        for text in member.owns:
            _, network = canonical_target(text)
            entries.append(Protected(network, f"owned by member {member.name!r}"))
    return entries


async def build_policy(
    ledger: Ledger, config: PolicyConfig, base: Protections, now: float
) -> Policy:
    """A policy whose memory is rebuilt from the ledger as of ``now``."""
    members = await ledger.members()
    policy = Policy(config, base.with_entries(member_protections(members)))
    confirmed = [name for name, rule in config.scenarios.items() if rule.confirmed]
    rows = await ledger.policy_rows(
        now,
        horizon=max(config.offense_memory, config.max_duration),
        signal_horizon=config.max_window(),
        confirmed=confirmed,
    )
    policy.restore(rows, now)
    return policy


def decision_record(verdict: Block | Lift, now: float) -> DecisionRecord:
    """The ledger row for a policy verdict."""
    if isinstance(verdict, Block):
        return DecisionRecord(
            action="block",
            target=verdict.target,
            until=verdict.until,
            scenario=verdict.scenario,
            origin=verdict.origin,
            created=now,
            charged=verdict.charged,
            evidence=msgspec.json.encode(verdict.evidence),
        )
    return DecisionRecord(
        action="lift",
        target=verdict.target,
        until=now,
        scenario=verdict.scenario,
        origin=verdict.origin,
        created=now,
    )


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
    ) -> None:
        self.ledger = ledger
        self.config = config
        self.base = base
        self.feed = feed
        self.metrics = metrics
        self.clock = clock
        self.max_group = max_group
        self.idle_check = idle_check
        self.policy = Policy(config, base)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._last_seq: dict[str, int] = {}
        self._cursors: dict[str, tuple[int, float]] = {}
        self._rejected: dict[str, int] = {}
        self._reload_needed = True
        self._members_changed = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._unsettled: dict[tuple[str, int], str] = {}
        self.crashes = 0

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
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(HubError("hub is shutting down; retry"))

    async def submit(self, opened: OpenedEnvelope) -> Ack:
        """Queue an opened envelope; returns once it is durable (or raises SignalError)."""
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(opened, future))
        return await future

    def note_cursor(self, member: str, cursor: int, now: float) -> None:
        """Remember where a member resumed its stream (written with the next group)."""
        self._cursors[member] = (cursor, now)

    def note_rejection(self, member: str) -> None:
        """Count a rejected envelope against a known member."""
        self._rejected[member] = self._rejected.get(member, 0) + 1

    def membership_changed(self) -> None:
        """A member joined or left in this process: rebuild protections before the next group."""
        self._members_changed = True

    # -- internals -----------------------------------------------------------------
    async def _reload(self) -> None:
        now = self.clock()
        self.policy = await build_policy(self.ledger, self.config, self.base, now)
        self._last_seq = await self.ledger.last_seqs()
        self._reload_needed = False
        self._members_changed = False
        await self.feed.catch_up()

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

    async def _run(self) -> None:
        # Pipelined: while group N is being written (fsync in the ledger's thread),
        # group N+1 is checked and run through the policy here. N+1's write starts
        # only after N is durable; if N fails, N+1 (computed on top of it) fails too
        # and the caches are rebuilt from the ledger.
        last_check = time.monotonic()
        while True:
            try:
                first: _Pending | None = await asyncio.wait_for(
                    self._queue.get(), self.idle_check
                )
            except TimeoutError:
                first = None
            due = time.monotonic() - last_check >= self.idle_check
            if first is None or due or self._reload_needed or self._members_changed:
                await self._settle()
                await self._refresh()
                last_check = time.monotonic()
            items = [] if first is None else [first]
            while first is not None and len(items) < self.max_group and not self._queue.empty():
                items.append(self._queue.get_nowait())
            if not items and not (self._cursors or self._rejected):
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
                self._fail(prepared, HubError("the previous write failed; retry"))
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
            self._members_changed = False

    async def _prepare(self, items: list[_Pending]) -> _Prepared:
        now = self.clock()
        group = WriteGroup(rejected=self._rejected, cursors=self._cursors)
        self._rejected, self._cursors = {}, {}
        verdicts: list[Block | Lift] = []
        answers: list[tuple[_Pending, Ack | SignalError]] = []
        in_group: dict[tuple[str, int], str] = {}
        last_seq = dict(self._last_seq)
        for pending in items:
            opened = pending.opened
            member = opened.member
            applied = in_group.get((member, opened.seq)) or self._unsettled.get(
                (member, opened.seq)
            )
            if applied is None and opened.seq <= last_seq.get(member, 0):
                applied = await self.ledger.batch_digest(member, opened.seq)
            try:
                verdict = check_sequence(
                    opened.seq, opened.digest, last_seq.get(member, 0), applied
                )
            except SignalError as exc:
                group.rejected[member] = group.rejected.get(member, 0) + 1
                answers.append((pending, exc))
                continue
            if verdict == "duplicate":
                answers.append((pending, Ack("duplicate", opened.seq, len(opened.signals))))
                continue
            try:
                check_freshness(opened.ts, now)
            except SignalError as exc:
                group.rejected[member] = group.rejected.get(member, 0) + 1
                answers.append((pending, exc))
                continue
            last_seq[member] = opened.seq
            in_group[(member, opened.seq)] = opened.digest
            group.batches.append(
                BatchRecord(member, opened.seq, opened.digest, now, len(opened.signals))
            )
            first_decision = len(verdicts)
            spans = opened.targets or (None,) * len(opened.signals)
            for signal, span in zip(opened.signals, spans, strict=True):
                outcome = self.policy.decide(member, signal, now, span)
                index = None
                if outcome.decision is not None:
                    index = len(verdicts)
                    verdicts.append(outcome.decision)
                note = f"{outcome.note}: {outcome.detail}" if outcome.detail else outcome.note
                group.signals.append(
                    SignalRecord(member, opened.seq, signal, now, note, index)
                )
            answers.append((pending, Ack("applied", opened.seq, len(opened.signals),
                                         tuple(range(first_decision, len(verdicts))))))
        group.decisions = [decision_record(v, now) for v in verdicts]
        # Speculative: the next group is checked against these sequence numbers
        # before this one is durable; a failed write rebuilds them from the ledger.
        self._last_seq = last_seq
        self._unsettled.update(in_group)
        return _Prepared(group, answers, list(in_group))

    def _fail(self, prepared: _Prepared, error: Exception) -> None:
        for key in prepared.keys:
            self._unsettled.pop(key, None)
        for pending, _ in prepared.answers:
            if not pending.future.done():
                pending.future.set_exception(error)

    async def _finish(self, prepared: _Prepared) -> None:
        group, answers = prepared.group, prepared.answers
        try:
            cursors = await self.ledger.write(group) if group else []
        except Exception as exc:
            # Nothing was written: the policy's memory ran ahead of the ledger.
            log.error("ledger write failed; rebuilding state from the ledger: %s", exc)
            self._reload_needed = True
            self._fail(prepared, HubError(f"could not make the batch durable, retry: {exc}"))
            return
        for key in prepared.keys:
            self._unsettled.pop(key, None)
        if group.batches:
            self.metrics.commits += 1
            self.metrics.committed_envelopes += len(group.batches)
        for pending, answer in answers:
            if pending.future.done():
                continue
            if isinstance(answer, SignalError):
                self.metrics.rejected[answer.reason] += 1
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
                Decision(
                    cursor=cursor,
                    action="block" if record.action == "block" else "lift",
                    target=record.target,
                    until=record.until,
                    scenario=record.scenario,
                    origin=record.origin,
                    created=record.created,
                )
                for cursor, record in zip(cursors, group.decisions, strict=True)
            ]
            for decision in published:
                self.metrics.decisions[decision.action] += 1
            await self.feed.publish(published)
