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
from typing import Protocol

import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.signals.signal import Signal


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


class SignalRecord(msgspec.Struct, frozen=True):
    """One received signal and what the policy made of it."""

    member: str
    seq: int
    signal: Signal
    received: float
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

    def __bool__(self) -> bool:
        return bool(
            self.batches or self.signals or self.decisions or self.rejected or self.cursors
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
    note: str
    decision: int | None


@dataclass(frozen=True, slots=True)
class PolicyRows:
    """What the policy needs to rebuild its memory at time ``now``."""

    #: Decisions that may still matter (recent blocks and all lifts after them), cursor order.
    decisions: list[StoredDecision]
    #: member -> times of decisions charged to it in the last hour
    charges: list[tuple[str, float]]
    #: Recent signals (for quorum sightings and retractions), in arrival order.
    signals: list[StoredSignal]


class Ledger(Protocol):
    """Durable storage of the hub. All writes of one hub go through one writer."""

    async def open(self) -> None:
        """Create or migrate the schema; ready the connections."""

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

    async def policy_rows(
        self, now: float, horizon: float, signal_horizon: float, confirmed: Sequence[str]
    ) -> PolicyRows:
        """Rows to rebuild the policy's memory.

        ``horizon`` bounds the decisions read (offense memory), ``signal_horizon``
        the signals (longest quorum window); signals of ``confirmed`` scenarios
        never wait for a quorum and are skipped.
        """

    async def changed_elsewhere(self) -> bool:
        """True when another process or replica wrote since the last call."""
