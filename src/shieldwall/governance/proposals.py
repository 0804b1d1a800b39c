"""Proposals: open an act, collect signatures offline, publish once the threshold is met.

Pure: the council's state and the time come in, a proposal, a signature or the next
act record come out. A proposal belongs to the council, not to the chair who opened
it: its signatures are over the act, which names the charter, not the chair, so a
handover leaves every open proposal and every signature valid, and the next chair
(or any councillor) can publish it. Only opening needs the chair of the moment,
except ``appoint-chair``, which any councillor opens (the chair may be the one lost).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import (
    Act,
    AppointChair,
    CharterChange,
    Effect,
    act_digest,
    check_effect,
    signed_digest,
)
from shieldwall.governance.chair import chair_at
from shieldwall.governance.charter import Charter
from shieldwall.governance.record import ActRecord
from shieldwall.governance.signatures import Signature, sign_digest
from shieldwall.governance.state import CouncilState, apply
from shieldwall.signals.keys import public_key_of

ID_HEX_CHARS = 16
T = TypeVar("T", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Proposal:
    """An open act and the signatures collected so far (in any order, duplicates allowed)."""

    act: Act
    signatures: tuple[Signature, ...] = ()

    @property
    def id(self) -> str:
        """The short id councillors pass around (the act digest's first hex digits)."""
        return proposal_id(self.act)


def proposal_id(act: Act) -> str:
    """The act's id: ``ID_HEX_CHARS`` hex digits of its digest."""
    return act_digest(act).hex()[:ID_HEX_CHARS]


def councils_for(state: CouncilState, act: Act) -> list[Charter]:
    """The councils whose members may sign ``act``: the charter in force, and a proposed one."""
    councils = [] if state.trusted is None else [state.trusted.charter]
    if isinstance(act.effect, CharterChange):
        councils.append(act.effect.charter)
    return councils


def seat_of(councils: Iterable[Charter], seed: bytes) -> str:
    """The councillor name of ``seed``'s key; ``not-on-council`` if it holds no seat."""
    key = public_key_of(seed).hex()
    for charter in councils:
        for seat in charter.council:
            if seat.public_key == key:
                return seat.name
    raise GovernanceError("not-on-council", "this key holds no seat on the council; check --key")


def open_proposal(state: CouncilState, effect: Effect, seed: bytes, now: int, note: str = "") -> Proposal:
    """Open a proposal as ``seed``'s councillor, with its signature as the first one."""
    if state.trusted is None:
        if not isinstance(effect, CharterChange) or effect.charter.version != 1:
            raise GovernanceError("no-council", "found the council first (`shieldwall council init`)")
        alliance = effect.charter.alliance
    else:
        alliance = state.trusted.charter.alliance
    draft = Act(alliance=alliance, charter=state.charter_hex, effect=effect, opened_by="-", opened_at=now,
                note=note)
    name = seat_of(councils_for(state, draft), seed)
    if state.trusted is not None:
        check_effect(state.trusted.charter, draft)
    if state.trusted is not None and not isinstance(effect, AppointChair):
        chair = chair_at(state.trusted.charter.rotation, now, state.appointments)
        if name != chair:
            raise GovernanceError(
                "not-chair", f"only the chair ({chair or 'none yet'}) opens proposals; ask them,"
                " or have the council appoint a new chair (`council propose appoint-chair`)")
    act = on_the_wire(Act(alliance=alliance, charter=state.charter_hex, effect=effect, opened_by=name,
                          opened_at=now, note=note))
    return Proposal(act, (sign_digest(seed, signed_digest(act)),))


def on_the_wire(value: T) -> T:
    """``value`` as it will be read back: refused now if it breaks a wire bound.

    msgspec checks bounds when decoding, not when a struct is built in memory, so a
    value built here (a long note, an out-of-range time) would otherwise be signed,
    published, and then make the act log unreadable.
    """
    try:
        decoded: T = msgspec.json.decode(msgspec.json.encode(value), type=type(value))
    except msgspec.ValidationError as exc:
        raise GovernanceError("malformed", f"{type(value).__name__} is out of bounds: {exc}") from None
    return decoded


def sign(state: CouncilState, proposal: Proposal, seed: bytes) -> Signature:
    """``seed``'s councillor's signature of ``proposal`` (refused if it holds no seat)."""
    if proposal.act.charter != state.charter_hex:
        raise GovernanceError(
            "wrong-charter", f"proposal {proposal.id} was made under another charter; propose it again")
    seat_of(councils_for(state, proposal.act), seed)
    return sign_digest(seed, signed_digest(proposal.act))


def with_signatures(proposal: Proposal, signatures: Iterable[Signature]) -> Proposal:
    """``proposal`` with more signatures (each distinct signature kept once)."""
    merged = dict.fromkeys((*proposal.signatures, *signatures))
    return Proposal(proposal.act, tuple(merged))


def publish(state: CouncilState, proposal: Proposal, now: int,
            pinned: bytes | None = None) -> tuple[ActRecord, CouncilState]:
    """The log's next record for ``proposal``, and the state after it; raises if not yet valid."""
    record = on_the_wire(ActRecord(
        seq=state.seq + 1, previous=state.head.hex(), published_at=now, act=proposal.act,
        signatures=tuple(sorted(set(proposal.signatures), key=lambda s: (s.key_id, s.sig)))))
    return record, apply(state, record, pinned)
