"""Governed acts: what the council can decide, and whether a set of signatures decides it.

An :class:`Act` names the charter version it is made under (by digest) and carries
one effect. Councillors sign :func:`signed_digest` of it: the act's own digest, or
for a charter change the new charter's digest, so that the published signatures
*are* the new charter's signatures and a member needs nothing else to verify it.

:func:`check_act` is the whole decision for one act at one moment; the member, the
hub and ``council publish`` all call it (charter changes go through
:func:`~shieldwall.governance.continuity.verify_successor` instead of a threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec

from shieldwall.addresses import parse_target
from shieldwall.errors import AddressError, GovernanceError
from shieldwall.governance.chair import Appointment, chair_at
from shieldwall.governance.charter import Charter, charter_digest, council_keys, threshold_for
from shieldwall.governance.signatures import (
    Name,
    Note,
    PublicKeyHex,
    Sha256Hex,
    Signature,
    Time,
    digest,
    tally,
)

DOMAIN = b"shieldwall/act/v1\n"


class PolicyChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="policy"):
    """The hub's policy becomes the file with this SHA-256."""

    policy_sha256: Sha256Hex


class Admit(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="admit", omit_defaults=True):
    """An organisation joins the alliance with this member key (and owns these ranges:
    no signal gets them blocked). ``owns`` is left out of the bytes when empty, so an
    act made before it existed keeps its digest."""

    member: Name
    public_key: PublicKeyHex
    owns: Annotated[tuple[Annotated[str, msgspec.Meta(max_length=64)], ...],
                    msgspec.Meta(max_length=64)] = ()


class Expel(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="expel"):
    """A member is expelled: its key and stream are cut."""

    member: Name


class NeverBlockChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="never-block"):
    """The alliance's never-block list becomes the file with this SHA-256."""

    never_block_sha256: Sha256Hex


class WideRange(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="wide-range"):
    """Block a range wider than the policy's cap, until ``until`` (0: until lifted)."""

    range: Annotated[str, msgspec.Meta(max_length=64)]
    until: Time


class CharterChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="charter"):
    """The charter's next version (or, under no charter, the founding one)."""

    charter: Charter


class AppointChair(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag="appoint-chair"):
    """``chair`` chairs from publication (the chair's key is lost, or it is absent)."""

    chair: Name


Effect = PolicyChange | Admit | Expel | NeverBlockChange | WideRange | CharterChange | AppointChair


class Act(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A proposed act: under which charter, what it does, who opened it and when."""

    alliance: Name
    #: Hex digest of the charter it is made under ("" only to found the council).
    charter: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")]
    effect: Effect
    opened_by: Name
    opened_at: Time
    note: Note = ""


def kind_of(act: Act) -> str:
    """The act's kind, as the charter's ``grave`` and ``delegated`` lists name it."""
    return str(type(act.effect).__struct_config__.tag)


def act_digest(act: Act) -> bytes:
    """The act's identity (proposal ids are its first hex digits)."""
    return digest(DOMAIN, act)


def signed_digest(act: Act) -> bytes:
    """What councillors sign for ``act``: its digest, or the new charter's for a charter change."""
    if isinstance(act.effect, CharterChange):
        return charter_digest(act.effect.charter)
    return act_digest(act)


def check_effect(charter: Charter, act: Act) -> None:
    """Refuse an effect that makes no sense under ``charter`` (``invalid``)."""
    effect = act.effect
    if isinstance(effect, AppointChair) and effect.chair not in charter.rotation.order:
        raise GovernanceError("invalid", f"{effect.chair!r} is not in the chair rotation")
    if isinstance(effect, WideRange):
        try:
            parse_target(effect.range)
        except AddressError as exc:
            raise GovernanceError("invalid", f"wide-range: {exc}") from None
    if isinstance(effect, Admit):
        for text in effect.owns:
            try:
                parse_target(text)
            except AddressError as exc:
                raise GovernanceError("invalid", f"admit: owns: {exc}") from None


def check_act(charter: Charter, charter_hex: str, act: Act, signatures: Sequence[Signature],
              at: int, appointments: Sequence[Appointment] = ()) -> str:
    """Whether ``act`` takes effect at ``at`` under ``charter``; returns how ("council" or "chair").

    Raises :class:`GovernanceError`: ``wrong-alliance``, ``wrong-charter`` (made under
    another version: propose it again), ``invalid``, ``under-signed`` or ``forged``.
    """
    if act.alliance != charter.alliance:
        raise GovernanceError("wrong-alliance", f"act is for {act.alliance!r}, not {charter.alliance!r}")
    if act.charter != charter_hex:
        raise GovernanceError(
            "wrong-charter", f"act was made under another charter than v{charter.version}; propose it again")
    check_effect(charter, act)
    kind = kind_of(act)
    needed = threshold_for(charter, kind)
    counted = tally(signed_digest(act), signatures, council_keys(charter))
    if counted.meets(needed):
        return "council"
    chair = chair_at(charter.rotation, at, appointments)
    if kind in charter.delegated and chair in counted.signers:
        return "chair"
    reason = "forged" if counted.forged else "under-signed"
    raise GovernanceError(reason, f"{kind} act: {counted.explain(needed, 'the council')}")
