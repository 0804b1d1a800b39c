"""What the council has decided: the act log folded into one state, each act re-verified.

:func:`apply` is the one function that turns a record into an effect, and it verifies
the record first (chain position, time order, no replay, signatures under the charter
in force). A member, the hub and the CLI all reach the state through :func:`replay`
from a pinned founding charter, so none of them trusts whoever handed them the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import (
    Admit,
    AppointChair,
    CharterChange,
    Expel,
    NeverBlockChange,
    PolicyChange,
    WideRange,
    act_digest,
    check_act,
)
from shieldwall.governance.chair import Appointment
from shieldwall.governance.charter import SignedCharter
from shieldwall.governance.continuity import Trusted, check_fresh, verify_founding, verify_successor
from shieldwall.governance.record import ActRecord, record_digest

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CouncilState:
    """The alliance as the council's published acts left it."""

    #: The charter in force (``None`` until the founding record).
    trusted: Trusted | None = None
    policy_sha256: str = ""
    never_block_sha256: str = ""
    #: Admitted members still in the alliance: name -> member public key (hex).
    members: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    expelled: frozenset[str] = frozenset()
    wide_ranges: tuple[WideRange, ...] = ()
    appointments: tuple[Appointment, ...] = ()
    seq: int = 0
    head: bytes = b""
    last_at: int = 0
    acts: frozenset[bytes] = field(default_factory=frozenset)

    @property
    def charter_hex(self) -> str:
        """Digest of the charter in force ("" before founding): what new acts must name."""
        return "" if self.trusted is None else self.trusted.digest.hex()


def apply(state: CouncilState, record: ActRecord, pinned: bytes | None = None) -> CouncilState:
    """Verify ``record`` as the log's next one and return the state after its effect.

    ``pinned`` is the founding charter's digest the caller trusts (checked on record 1).
    """
    if record.seq != state.seq + 1 or record.previous != state.head.hex():
        raise GovernanceError("out-of-order", f"record {record.seq} does not follow record {state.seq}")
    if record.published_at < state.last_at:
        raise GovernanceError("out-of-order", f"record {record.seq} is dated before record {state.seq}")
    identity = act_digest(record.act)
    if identity in state.acts:
        raise GovernanceError("replayed", f"record {record.seq} repeats an act already published")
    act, effect = record.act, record.act.effect
    after = replace(state, seq=record.seq, head=record_digest(record), last_at=record.published_at,
                    acts=state.acts | {identity})
    if state.trusted is None:
        if not isinstance(effect, CharterChange) or act.charter != "":
            raise GovernanceError("invalid", "the first record must found the council (charter v1)")
        if act.alliance != effect.charter.alliance:
            raise GovernanceError("wrong-alliance", "the founding act and charter name different alliances")
        trusted = verify_founding(SignedCharter(effect.charter, record.signatures), pinned)
        return _new_charter(after, trusted)
    if isinstance(effect, CharterChange):
        if act.charter != state.charter_hex or act.alliance != state.trusted.charter.alliance:
            raise GovernanceError("wrong-charter", "charter change was made under another version")
        successor = SignedCharter(effect.charter, record.signatures)
        return _new_charter(after, verify_successor(state.trusted, successor))
    check_fresh(state.trusted, record.published_at)
    check_act(state.trusted.charter, state.charter_hex, act, record.signatures, record.published_at,
              state.appointments)
    return _effect(after, effect, record.published_at)


def _new_charter(state: CouncilState, trusted: Trusted) -> CouncilState:
    charter = trusted.charter
    return replace(state, trusted=trusted, policy_sha256=charter.policy_sha256,
                   never_block_sha256=charter.never_block_sha256)


def _effect(state: CouncilState, effect: object, at: int) -> CouncilState:
    if isinstance(effect, PolicyChange):
        return replace(state, policy_sha256=effect.policy_sha256)
    if isinstance(effect, NeverBlockChange):
        return replace(state, never_block_sha256=effect.never_block_sha256)
    if isinstance(effect, Admit):
        if effect.member in state.members or effect.public_key in state.members.values():
            raise GovernanceError("invalid", f"{effect.member!r} or its key is already a member")
        # Re-admitting an expelled member is a new decision of the council, so it is allowed.
        return replace(state, members=MappingProxyType({**state.members, effect.member: effect.public_key}),
                       expelled=state.expelled - {effect.member})
    if isinstance(effect, Expel):
        # Members who joined by hub invitation before the council existed are not in
        # ``members``; they can be expelled all the same.
        if effect.member in state.expelled:
            raise GovernanceError("invalid", f"{effect.member!r} is already expelled")
        members = dict(state.members)
        members.pop(effect.member, None)
        return replace(state, members=MappingProxyType(members), expelled=state.expelled | {effect.member})
    if isinstance(effect, WideRange):
        return replace(state, wide_ranges=(*state.wide_ranges, effect))
    if isinstance(effect, AppointChair):
        return replace(state, appointments=(*state.appointments, Appointment(at, effect.chair)))
    raise GovernanceError("invalid", f"unknown effect {type(effect).__name__}")  # pragma: no cover


def replay(records: Iterable[ActRecord], pinned: bytes | None = None) -> CouncilState:
    """The state after every record, each verified in turn; raises at the first bad one."""
    state = CouncilState()
    for record in records:
        try:
            state = apply(state, record, pinned)
        except GovernanceError as exc:
            raise GovernanceError(exc.reason, f"act log record {record.seq}: {exc}") from None
    return state


def in_force(records: Sequence[ActRecord], pinned: bytes, now: int,
             known: tuple[int, bytes] | None = None) -> CouncilState:
    """What a member acts on: the verified state, refused if its charter has expired (frozen).

    ``pinned`` is the founding charter's digest from the member's join token. ``known``
    is the (seq, head) the member verified last time: a log that does not extend it
    (shorter, or different at that record) is refused as ``rolled-back``, so a hub cannot
    undo an act by serving an older log.
    """
    if known is not None and known[0] > 0:
        seq, head = known
        if len(records) < seq or record_digest(records[seq - 1]) != head:
            raise GovernanceError(
                "rolled-back", f"the act log served does not extend the one verified up to act {seq}")
    state = replay(records, pinned)
    if state.trusted is None:
        raise GovernanceError("no-council", "the act log is empty: the council has not been founded")
    check_fresh(state.trusted, now)
    return state
