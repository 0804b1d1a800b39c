"""A member's check of the hub's decisions: chain, checkpoint, policy version. Pure.

Decisions go in as the stream delivers them (:meth:`DecisionVerifier.decision`), signed
checkpoints as they arrive (:meth:`DecisionVerifier.checkpoint`); nothing comes out
until a checkpoint signed by a hub key of the charter in force covers it. Then each
covered decision is accepted if it names a policy version the council put in force,
and refused (with the reason) otherwise. A chain that does not match the hub's own
signature is an incident: the pending decisions are dropped, nothing more is
accepted, and the member keeps enforcing what it had.

The verified position (cursor, chain value) is what the member persists: a restart
resumes there, so a hub cannot rewrite history behind a member's back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shieldwall.decisions.decision import Decision
from shieldwall.errors import GovernanceError
from shieldwall.governance.checkpoint import (
    GENESIS,
    SignedCheckpoint,
    chain_over,
    chain_step,
    check_checkpoint,
)
from shieldwall.governance.continuity import check_fresh
from shieldwall.governance.standing import Standing, check_known

#: Unverified decisions a member holds at most before it calls the hub silent.
MAX_PENDING = 1_000_000


@dataclass(frozen=True, slots=True)
class Refusal:
    """A decision the member will not apply, and why."""

    cursor: int
    target: str
    reason: str
    detail: str


@dataclass(slots=True)
class Released:
    """What a checkpoint released: decisions to apply, and decisions refused."""

    accepted: list[Decision] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.accepted or self.refused)


class DecisionVerifier:
    """Holds decisions until a signed checkpoint covers them; see the module docstring."""

    def __init__(self, standing: Standing, cursor: int = 0, chain: bytes = GENESIS) -> None:
        self.standing = standing
        #: The last verified cursor and the chain value there (what to persist).
        self.cursor = cursor
        self.chain = chain
        #: Why verification stopped for good (the hub's log contradicts its signature).
        self.incident: str | None = None
        self._pending: list[Decision] = []
        self._running = chain
        self._held: SignedCheckpoint | None = None

    @property
    def pending(self) -> int:
        """Decisions received and not yet covered by a checkpoint."""
        return len(self._pending)

    @property
    def last_seen(self) -> int:
        """The highest cursor received (verified or pending)."""
        return self._pending[-1].cursor if self._pending else self.cursor

    def needs_acts(self, signed: SignedCheckpoint) -> bool:
        """Whether the checkpoint was signed under a newer act than this member verified."""
        return signed.checkpoint.acts_seq > self.standing.state.seq

    def decision(self, decision: Decision) -> Released:
        """One decision from the stream, in cursor order; releases if it reaches a held checkpoint."""
        if self.incident is not None or decision.cursor <= self.last_seen:
            return Released()  # stopped, or already seen (a reconnect resends from the cursor)
        self._running = chain_step(self._running, decision)
        self._pending.append(decision)
        held = self._held
        if held is not None:
            if decision.cursor == held.checkpoint.cursor:
                return self._release(len(self._pending), held)
            if decision.cursor > held.checkpoint.cursor:
                self._stop(f"the hub signed a checkpoint at cursor {held.checkpoint.cursor}, which its"
                           " log does not contain")
                return Released()
        if len(self._pending) > MAX_PENDING:
            self._stop(f"more than {MAX_PENDING} decisions arrived without a signed checkpoint")
        return Released()

    def checkpoint(self, signed: SignedCheckpoint, now: int) -> Released:
        """A signed checkpoint: releases what it covers, or is held until the stream reaches it.

        Raises :class:`GovernanceError` for a checkpoint that is not the council's hub's
        (``unknown-hub-key``, ``forged``, ``wrong-alliance``), one signed under an older
        act log (``rolled-back``, ``forked``), or a frozen charter (``expired``). Call
        :meth:`needs_acts` first and verify the newer acts if it says so.
        """
        if self.incident is not None:
            return Released()
        standing = self.standing
        assert standing.state.trusted is not None
        check_checkpoint(signed, standing.hub_keys, standing.alliance)
        check_known(standing, signed.checkpoint.acts_seq, signed.checkpoint.acts_head)
        check_fresh(standing.state.trusted, now)
        at = signed.checkpoint.cursor
        if at < self.cursor:
            return Released()  # older than what is verified: nothing to learn
        if at == self.cursor:
            if signed.checkpoint.chain != self.chain.hex():
                self._stop(f"the hub's signed chain at cursor {at} differs from the one verified")
            return Released()
        if at > self.last_seen:
            self._held = signed
            return Released()
        for index, decision in enumerate(self._pending):
            if decision.cursor == at:
                return self._release(index + 1, signed)
            if decision.cursor > at:
                break
        self._stop(f"the hub signed a checkpoint at cursor {at}, which its log does not contain")
        return Released()

    def _release(self, count: int, signed: SignedCheckpoint) -> Released:
        covered = self._pending[:count]
        chain = self._running if count == len(self._pending) else chain_over(self.chain, covered)
        if chain.hex() != signed.checkpoint.chain:
            self._stop(f"the decisions after cursor {self.cursor} up to {signed.checkpoint.cursor} do not"
                       " hash to what the hub's key signed: they were altered, dropped or reordered")
            return Released()
        self._pending = self._pending[count:]
        self.cursor, self.chain = covered[-1].cursor, chain
        if self._held is signed:
            self._held = None
        released = Released()
        approved = self.standing.approved
        for decision in covered:
            if decision.policy in approved:
                released.accepted.append(decision)
            else:
                released.refused.append(self._refusal(decision))
        return released

    def _refusal(self, decision: Decision) -> Refusal:
        if not decision.policy:
            return Refusal(decision.cursor, decision.target, "no-policy",
                           f"decision #{decision.cursor} names no policy version: the hub made it"
                           " outside any policy the council signed")
        return Refusal(decision.cursor, decision.target, "unsigned-policy",
                       f"decision #{decision.cursor} was made under policy {decision.policy[:28]}...,"
                       " which the council never signed (in force:"
                       f" {self.standing.version[:28]}...)")

    def _stop(self, why: str) -> None:
        self.incident = why
        self._pending.clear()
        self._held = None
        self._running = self.chain


def refusal_of(error: GovernanceError, signed: SignedCheckpoint) -> Refusal:
    """A refused checkpoint as a refusal to report (cursor is the checkpoint's)."""
    return Refusal(signed.checkpoint.cursor, "", error.reason, str(error))
