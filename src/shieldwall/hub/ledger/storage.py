"""The storage interface every ledger backend implements, and the records it holds.

The hub keeps no state a second replica could not rebuild from the ledger: the
policy's memory is rebuilt from :meth:`Ledger.policy_rows`, membership is read
through :meth:`Ledger.member_by_key`, and the decision log is the ledger's
``decisions`` in cursor order.

Durability contract: :meth:`Ledger.write` returns only after the whole group is
durable (one transaction, one fsync for many batches), or raises and has written
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.signals.signal import Signal

if TYPE_CHECKING:
    from shieldwall.hub.policy_view import PolicyRows, ViewQuery


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """One member of the alliance as the ledger holds it."""

    name: str
    key_id: str
    public_key: bytes
    owns: tuple[str, ...]
    joined: float
    revoked_at: float | None = None
    revoked_why: str = ""
    last_seen: float = 0.0
    last_seq: int = 0
    signals: int = 0
    rejected: int = 0
    #: The last decision cursor delivered to the member (or that it resumed from).
    cursor: int = 0

    @property
    def active(self) -> bool:
        """True until the member is expelled or leaves."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class InviteRecord:
    """A one-time join secret (only its hash is stored)."""

    secret_hash: str
    name: str
    created: float
    expires: float
    used_by: str = ""
    #: Ranges the operator says the invited member holds: its claims must lie inside.
    owns: tuple[str, ...] = ()


class SignalRecord(msgspec.Struct, frozen=True, gc=False):
    """One received signal and what the policy made of it.

    One per signal the hub takes: ``gc=False`` spares the collector tracking them
    (safe: its fields are scalars and a :class:`Signal`, which holds no container
    that could lead back to it).
    """

    member: str
    seq: int
    signal: Signal
    received: float
    #: The policy's outcome kind (:data:`shieldwall.hub.policy.OutcomeKind`), its own column.
    outcome: str
    #: The outcome's human detail ("2/3 members", the protection's label).
    note: str
    #: Index into :attr:`WriteGroup.decisions` of the decision it caused, if any.
    decision_index: int | None = None


class BatchRecord(msgspec.Struct, frozen=True):
    """One applied envelope: identifies it for idempotent retries."""

    member: str
    seq: int
    digest: str
    received: float
    count: int


class DecisionRecord(msgspec.Struct, frozen=True):
    """A decision to append to the log; the ledger assigns its cursor."""

    action: str
    target: str
    until: float
    scenario: str
    origin: str
    created: float
    charged: str = ""
    #: JSON list of contributions (member, scenario, count, times, sample lines).
    evidence: bytes = b"[]"
    #: See :class:`~shieldwall.decisions.decision.Decision`: policy version, rule, drill id.
    policy: str = ""
    rule: str = ""
    drill: str = ""

    def decision(self, cursor: int) -> Decision:
        """The log entry this record is under ``cursor``: the one row-to-Decision conversion."""
        return Decision(
            cursor=cursor,
            action="block" if self.action == "block" else "lift",
            target=self.target,
            until=self.until,
            scenario=self.scenario,
            origin=self.origin,
            created=self.created,
            policy=self.policy,
            rule=self.rule,
            drill=self.drill,
        )


class JournalEntry(msgspec.Struct, frozen=True):
    """One record of an institution (council act, readiness transition, drill report,
    arsenal record, dispute) in the ledger's append-only journal.

    ``kind`` names the institution's record type (e.g. ``"readiness"``), ``key`` what
    it is about (a member, a drill id, a rule version), ``body`` the institution's
    own msgspec JSON: the ledger stores it and never reads it.
    """

    kind: str
    key: str
    at: float
    body: bytes


class StoredJournalEntry(msgspec.Struct, frozen=True):
    """A journal entry with the id the ledger gave it (strictly increasing)."""

    id: int
    kind: str
    key: str
    at: float
    body: bytes


@dataclass(frozen=True, slots=True)
class MemberChange:
    """What a council act does to membership, carried out with its journal record
    (:meth:`Ledger.carry_out`): register ``admit``, or revoke member ``revoke`` for ``why``."""

    admit: MemberRecord | None = None
    revoke: str = ""
    why: str = ""


@dataclass(slots=True)
class WriteGroup:
    """Everything one group commit writes, in one transaction."""

    batches: list[BatchRecord] = field(default_factory=list)
    signals: list[SignalRecord] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    #: member -> rejected envelopes to add to its count
    rejected: dict[str, int] = field(default_factory=dict)
    #: member -> (cursor it resumed from, when)
    cursors: dict[str, tuple[int, float]] = field(default_factory=dict)
    #: Institution records committed with the rest (e.g. a quarantine with its signal).
    journal: list[JournalEntry] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.batches or self.signals or self.decisions or self.rejected or self.cursors
            or self.journal
        )


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A decision with the ledger's extra columns (for explain and policy rebuilds)."""

    decision: Decision
    charged: str
    evidence: bytes


@dataclass(frozen=True, slots=True)
class StoredSignal:
    """A stored signal with the member, time and policy note (for explain)."""

    member: str
    signal: Signal
    received: float
    outcome: str
    note: str
    decision: int | None


class Ledger(Protocol):
    """Durable storage of the hub. All writes of one hub go through one writer."""

    async def open(self, create: bool = False) -> None:
        """Ready the connections and migrate the schema; a missing ledger is an error
        unless ``create`` (``hub init``)."""

    async def check_integrity(self) -> None:
        """Refuse (HubError, with how to recover) a damaged ledger or one whose decision
        log went back behind what the hub last announced."""

    async def mark_head(self, head: int) -> None:
        """Record beside the ledger the highest cursor announced to members."""

    async def probe(self, now: float) -> None:
        """A tiny durable write: raises when the ledger cannot take writes."""

    async def expire(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` signals and batches received before ``before``."""

    async def invite(self, secret_hash: str) -> InviteRecord | None:
        """The invite with this secret hash, used or not."""

    async def close(self) -> None:
        """Release connections and threads."""

    # membership
    async def add_invite(self, invite: InviteRecord) -> None:
        """Store a one-time join secret."""

    async def redeem_invite(
        self, secret_hash: str, member: MemberRecord, now: float
    ) -> MemberRecord:
        """Consume an invite and add the member, atomically; raises HubError if unusable."""

    async def revoke_member(self, name: str, why: str, now: float) -> MemberRecord:
        """Mark a member revoked (expelled or left); raises HubError if unknown."""

    async def members(self) -> list[MemberRecord]:
        """Every member, active or not, by name."""

    async def declare_proxies(self, name: str, proxies: Sequence[str], now: float) -> None:
        """Replace active member ``name``'s declared reverse proxies (checked networks; empty
        withdraws them); raises HubError if there is no such active member."""

    async def declared_proxies(self) -> dict[str, tuple[str, ...]]:
        """member -> its declared reverse proxies (members that declared none are absent)."""

    async def member_by_key(self, key_id: str) -> MemberRecord | None:
        """The member that owns ``key_id``."""

    # signals and decisions
    async def last_seqs(self) -> dict[str, int]:
        """member -> highest applied sequence number."""

    async def batch_digest(self, member: str, seq: int) -> str | None:
        """The digest of the batch applied under ``(member, seq)``."""

    async def write(self, group: WriteGroup) -> list[int]:
        """Write a group in one durable transaction; returns the decisions' cursors."""

    async def decisions_after(self, cursor: int, limit: int) -> list[Decision]:
        """Up to ``limit`` decisions with a cursor above ``cursor``, in order."""

    async def head(self) -> int:
        """The highest cursor in the log (0 when empty)."""

    async def decisions_for(self, targets: Sequence[str]) -> list[StoredDecision]:
        """Every decision on any of ``targets``, in cursor order."""

    async def signals_for(self, targets: Sequence[str], limit: int) -> list[StoredSignal]:
        """The most recent signals on any of ``targets``, newest first."""

    async def policy_rows(self, query: ViewQuery) -> PolicyRows:
        """The rows the policy asks for (see :mod:`shieldwall.hub.policy_view`)."""

    async def recent_volume(self, since: float) -> dict[str, int]:
        """member -> signals in batches received after ``since`` (quota rebuild)."""

    async def decisions_before(
        self, before: int, limit: int, *, scenario: str = "", member: str = "",
        since: float = 0.0,
    ) -> list[Decision]:
        """Newest first: decisions with a cursor below ``before`` (of ``scenario``, caused
        by ``member``, created after ``since`` when given), at most ``limit`` (pages)."""

    async def journal_append(self, entries: Sequence[JournalEntry]) -> list[int]:
        """Append ``entries`` durably in one transaction; returns their ids in order."""

    async def journal(
        self, kind: str, *, key: str | None = None, after: int = 0, limit: int = 1000,
        newest_first: bool = False,
    ) -> list[StoredJournalEntry]:
        """Entries of ``kind`` (and ``key``) with an id above ``after``, oldest first
        (or newest first), at most ``limit``."""

    async def carry_out(self, record: JournalEntry, change: MemberChange) -> bool:
        """Carry out one act once: apply ``change`` and append ``record`` in one transaction,
        unless an entry of the record's kind and key exists (then write nothing, return
        False). Raises HubError (nothing written) if the change is refused; on PostgreSQL
        it is fenced by the leader's epoch like a decision (``FencedError``)."""

    async def changed_elsewhere(self) -> bool:
        """True when another process or replica wrote since the last call."""
