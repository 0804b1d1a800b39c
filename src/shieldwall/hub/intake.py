"""The hub's intake, pure: what to write and what to answer for a group of envelopes.

Given opened envelopes, the digests the ledger holds for sequence numbers at or
below each member's last one, and ``now``, :meth:`Intake.take` checks sequence
and freshness, applies the per-member signal quota, runs the policy on every
signal and returns a :class:`Step`: the :class:`~shieldwall.hub.ledger.storage.WriteGroup`
to make durable and, for each envelope, the answer to send once it is. No I/O,
no clock: the driver (:mod:`shieldwall.hub.writer`) queues, writes, acknowledges
and publishes.

Its memory (the policy's, the last sequence numbers, the quota windows) runs
ahead of the ledger by the groups in flight: :meth:`Intake.settled` and
:meth:`Intake.failed` tell it how a write ended; after a failure the driver
rebuilds it from the ledger.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import msgspec

from shieldwall.addresses import Labelled, Ranges, Target, canonical_target, target_network
from shieldwall.detection.proxies import ProxyGuard
from shieldwall.errors import AddressError, SignalError
from shieldwall.hub.ledger.storage import (
    BatchRecord,
    DecisionRecord,
    JournalEntry,
    MemberRecord,
    SignalRecord,
    WriteGroup,
)
from shieldwall.hub.policy import Block, Lift, Policy
from shieldwall.hub.trust import JOURNAL_KIND as TRUST_JOURNAL
from shieldwall.hub.trust import encode_event
from shieldwall.signals.bounds import INT64_MAX
from shieldwall.signals.envelope import Ack, OpenedEnvelope, check_freshness, check_sequence

HOUR = 3600.0
MINUTE = 60.0
#: Quota windows are kept in buckets of this many seconds.
QUOTA_BUCKET = 10.0
#: A member may send at most this share of its hourly quota within one minute, so
#: that a flood is spread over the hour instead of landing at once (a member at its
#: burst limit may still send one more envelope: any envelope size gets through).
BURST_SHARE = 1 / 30


@dataclass(slots=True)
class Step:
    """One group's outcome: what to write, and each envelope's answer (in order)."""

    group: WriteGroup
    answers: list[Ack | SignalError]
    #: (member, seq) of the batches applied: retries see them before they are durable.
    keys: list[tuple[str, int]] = field(default_factory=list)


def decision_record(verdict: Block | Lift, now: float) -> DecisionRecord:
    """The ledger row for a policy verdict."""
    if isinstance(verdict, Block):
        return DecisionRecord(
            action="block", target=verdict.target, until=verdict.until,
            scenario=verdict.scenario, origin=verdict.origin, created=now,
            charged=verdict.charged, evidence=msgspec.json.encode(verdict.evidence),
            rule=verdict.rule,
        )
    return DecisionRecord(
        action="lift", target=verdict.target, until=now, scenario=verdict.scenario,
        origin=verdict.origin, created=now,
    )


def storable(opened: OpenedEnvelope) -> str | None:
    """Why the ledger could not store this envelope, or ``None``.

    The wire types bound every integer already; this is the last line before
    storage, so that one envelope can never fail a group commit for the others.
    """
    if not 0 < opened.seq <= INT64_MAX:
        return "seq is out of range"
    signals = opened.signals
    # Two scans in C (every envelope passes them); the slow loop only names the culprit.
    if signals and not (min(map(_count, signals)) >= -INT64_MAX
                        and max(map(_count, signals)) <= INT64_MAX):
        for index, signal in enumerate(signals):
            if not -INT64_MAX <= signal.count <= INT64_MAX:
                return f"signal {index}: count is out of range"
    return None


_count = attrgetter("count")


def member_guards(members: Sequence[MemberRecord], proxies: Mapping[str, Ranges] | None = None,
                  ) -> dict[str, ProxyGuard]:
    """Per active member: what its own detections may not blame (its owned ranges, its proxies)."""
    guards: dict[str, ProxyGuard] = {}
    for member in members:
        if not member.active:
            continue
        owned = []
        for text in member.owns:
            try:
                owned.append(Labelled(target_network(canonical_target(text)), f"owned by {member.name!r}"))
            except AddressError:
                continue  # checked at join; the policy's protections say the rest
        guards[member.name] = ProxyGuard((proxies or {}).get(member.name, Ranges()),
                                         Ranges().with_entries(owned))
    return guards


def _refusal(guard: ProxyGuard, target: str, span: Target | None) -> str | None:
    """Why ``guard`` refuses ``target`` in any spelling (``::ffff:a.b.c.d`` is ``a.b.c.d``)."""
    if span is not None:  # parsed once when the envelope was opened: no second parse
        return guard.refusal_span(span.version, span.low, span.high)
    try:
        return guard.refusal(canonical_target(target))
    except AddressError:
        return None  # not an address: the policy says "invalid"


class Intake:
    """Sequence, freshness, quota and policy for groups of envelopes."""

    def __init__(
        self, policy: Policy, last_seq: Mapping[str, int],
        signals_per_hour: int = 200_000, operators: frozenset[str] = frozenset(),
        declared: Mapping[str, ProxyGuard] | None = None,
    ) -> None:
        self.policy = policy
        #: Per member: its declared proxies and own addresses, which its detections may not
        #: blame (the agent refuses them first; a member that did not is refused here).
        self.declared = dict(declared or {})
        self.last_seq = dict(last_seq)
        self.signals_per_hour = signals_per_hour
        self.operators = operators
        #: member -> (bucket start, signals) within the last hour
        self.volume: dict[str, deque[tuple[float, int]]] = {}
        #: Digests of batches applied but not yet durable.
        self.unsettled: dict[tuple[str, int], str] = {}
        self.rejected: dict[str, int] = {}
        self.cursors: dict[str, tuple[int, float]] = {}

    # -- what the driver tells it ----------------------------------------------------
    def restore_volume(self, volume: Mapping[str, int], now: float) -> None:
        """Seed the quota windows with the last hour's volume read from the ledger."""
        for member, count in volume.items():
            self.volume[member] = deque([(now - now % QUOTA_BUCKET, count)])

    def needs_digest(self, opened: OpenedEnvelope) -> bool:
        """Whether :meth:`take` needs the ledger's digest for ``(member, seq)``."""
        key = (opened.member, opened.seq)
        return key not in self.unsettled and opened.seq <= self.last_seq.get(opened.member, 0)

    def note_rejection(self, member: str) -> None:
        """Count a rejected envelope of an authenticated member (written with the next group)."""
        self.rejected[member] = self.rejected.get(member, 0) + 1

    def note_cursor(self, member: str, cursor: int, now: float) -> None:
        """Remember where a member's stream stands (written with the next group)."""
        self.cursors[member] = (cursor, now)

    def settled(self, step: Step) -> None:
        """The step's write is durable."""
        for key in step.keys:
            self.unsettled.pop(key, None)

    def failed(self, step: Step) -> None:
        """The step's write failed: nothing of it is in the ledger."""
        for key in step.keys:
            self.unsettled.pop(key, None)

    def sweep(self, now: float) -> None:
        """Age out quota windows and the policy's memory."""
        for member in list(self.volume):
            window = self.volume[member]
            while window and window[0][0] <= now - HOUR:
                window.popleft()
            if not window:
                del self.volume[member]
        self.policy.sweep(now)

    def used(self, member: str, now: float, within: float = HOUR) -> int:
        """Signals ``member`` sent within ``within`` seconds before ``now``."""
        window = self.volume.get(member)
        if window is None:
            return 0
        while window and window[0][0] <= now - HOUR:
            window.popleft()
        return sum(n for start, n in window if start > now - within - QUOTA_BUCKET)

    def quota_problem(self, member: str, now: float, signals: int = 0) -> str | None:
        """Why ``member`` may not send ``signals`` more now, or ``None``."""
        # signals=0 is the check before the body: is there room for anything at all?
        if self.used(member, now) + max(signals, 1) > self.signals_per_hour:
            return (f"member {member!r} reached its quota of {self.signals_per_hour} signals"
                    " per hour; send the batch again later")
        burst = max(1, int(self.signals_per_hour * BURST_SHARE))
        if self.used(member, now, MINUTE) >= burst:
            return (f"member {member!r} sent {burst} signals within the last minute (a"
                    f" thirtieth of its hourly quota); spread them out, send again shortly")
        return None

    # -- the step --------------------------------------------------------------------
    def take(
        self, envelopes: Sequence[OpenedEnvelope], digests: Mapping[tuple[str, int], str],
        now: float,
    ) -> Step:
        """Check and apply ``envelopes``; ``digests`` answers :meth:`needs_digest`."""
        group = WriteGroup(rejected=self.rejected, cursors=self.cursors)
        self.rejected, self.cursors = {}, {}
        step = Step(group, [])
        verdicts: list[Block | Lift] = []
        for opened in envelopes:
            answer = self._one(opened, digests, now, step, verdicts)
            if isinstance(answer, SignalError) and answer.reason != "quota":
                group.rejected[opened.member] = group.rejected.get(opened.member, 0) + 1
            step.answers.append(answer)
        group.decisions = [decision_record(v, now) for v in verdicts]
        # Quarantines (a member reported a canary) are committed with the signal: the
        # council reads them from the journal, and the policy is rebuilt from them.
        group.journal += [
            JournalEntry(TRUST_JOURNAL, e.member, e.at, encode_event(e))
            for e in self.policy.take_events()
        ]
        return step

    def _one(
        self, opened: OpenedEnvelope, digests: Mapping[tuple[str, int], str], now: float,
        step: Step, verdicts: list[Block | Lift],
    ) -> Ack | SignalError:
        member, key = opened.member, (opened.member, opened.seq)
        applied = self.unsettled.get(key) or digests.get(key)
        try:
            verdict = check_sequence(
                opened.seq, opened.digest, self.last_seq.get(member, 0), applied
            )
        except SignalError as exc:
            return exc
        if verdict == "duplicate":
            return Ack("duplicate", opened.seq, len(opened.signals))
        try:
            check_freshness(opened.ts, now)
        except SignalError as exc:
            return exc
        problem = storable(opened)
        if problem is not None:
            return SignalError("malformed", problem)
        quota = self.quota_problem(member, now, len(opened.signals))
        if quota is not None:
            return SignalError("quota", f"{quota} (the batch was not applied)")
        self._count(member, len(opened.signals), now)
        self.last_seq[member] = opened.seq
        self.unsettled[key] = opened.digest
        step.keys.append(key)
        step.group.batches.append(
            BatchRecord(member, opened.seq, opened.digest, now, len(opened.signals))
        )
        first = len(verdicts)
        operator = member in self.operators
        spans = opened.targets or (None,) * len(opened.signals)
        guard = self.declared.get(member) or None  # an empty guard refuses nothing
        # Per signal (the hub's innermost loop): names bound once per envelope.
        seq, decide, record = opened.seq, self.policy.decide, step.group.signals.append
        for signal, span in zip(opened.signals, spans, strict=True):
            why = (_refusal(guard, signal.target, span)
                   if guard is not None and signal.kind == "detection" else None)
            if why is not None:
                record(SignalRecord(
                    member, seq, signal, now, "protected",
                    f"blames {why} (declared by member {member!r}): never blamed", None,
                ))
                continue
            outcome = decide(member, signal, now, span, operator)
            index = None
            if outcome.decision is not None:
                index = len(verdicts)
                verdicts.append(outcome.decision)
            record(SignalRecord(member, seq, signal, now, outcome.kind, outcome.detail, index))
        return Ack("applied", opened.seq, len(opened.signals), tuple(range(first, len(verdicts))))

    def _count(self, member: str, signals: int, now: float) -> None:
        window = self.volume.setdefault(member, deque())
        bucket = now - now % QUOTA_BUCKET
        if window and window[-1][0] == bucket:
            window[-1] = (bucket, window[-1][1] + signals)
        else:
            window.append((bucket, signals))
