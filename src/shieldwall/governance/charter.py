"""The charter: who governs the alliance, by which thresholds, with which hub and policy.

A charter is a versioned document signed by its council (see
:mod:`shieldwall.governance.continuity` for which signatures make a version valid).
Its canonical bytes are the msgspec JSON encoding of :class:`Charter` (fields in
declared order, all present, integers for times); decoding refuses unknown fields
and anything out of bounds, so a signed charter means exactly one thing.

:func:`check_rules` holds the guard rails every version must pass, whoever signed it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

import msgspec

from shieldwall.errors import GovernanceError
from shieldwall.governance.signatures import (
    Name,
    PublicKeyHex,
    Sha256Hex,
    SignatureHex,
    Signatures,
    Time,
    digest,
)
from shieldwall.signals.keys import key_id_of

DOMAIN = b"shieldwall/charter/v1\n"
CHALLENGE_DOMAIN = b"shieldwall/councillor-challenge/v1\n"
MAX_COUNCIL = 64
MAX_HUB_KEYS = 16
MAX_CHARTER_BYTES = 256 * 1024

#: ``trial``: an alliance rule starts as experimental (shadow); the arsenal carries it out
#: (shieldwall.arsenal.trials), so a charter may delegate it to the chair.
ActKind = Literal["policy", "admit", "expel", "never-block", "wide-range", "charter", "appoint-chair",
                  "trial"]
ACT_KINDS: tuple[ActKind, ...] = (
    "policy", "admit", "expel", "never-block", "wide-range", "charter", "appoint-chair", "trial")
#: Acts the chair may never sign alone: changing the council, or choosing its own successor.
NEVER_DELEGATED: frozenset[str] = frozenset({"charter", "appoint-chair", "admit", "expel"})
Kinds = Annotated[tuple[ActKind, ...], msgspec.Meta(max_length=len(ACT_KINDS))]


class Councillor(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One council seat: a name, its Ed25519 public key, and the key's signed challenge."""

    name: Name
    public_key: PublicKeyHex
    #: Signature by ``public_key`` of :func:`challenge` (proves the key can sign).
    proof: SignatureHex


class HubKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A key the hub signs its decision stream with."""

    name: Name
    public_key: PublicKeyHex


class Rotation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The chair's rotation: ``order[0]`` chairs from ``start``, then each in turn per term."""

    order: Annotated[tuple[Name, ...], msgspec.Meta(min_length=1, max_length=MAX_COUNCIL)]
    start: Time
    #: ``calendar-year``: terms end at 1 January 00:00 UTC; ``days``: every ``days`` days.
    term: Literal["calendar-year", "days"]
    days: Annotated[int, msgspec.Meta(ge=0, le=3660)] = 0


class Thresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Distinct councillors' signatures an act needs: ordinary acts, and grave ones."""

    ordinary: Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNCIL)]
    grave: Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNCIL)]


class Charter(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One version of the alliance's charter (the signed part)."""

    alliance: Name
    version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    #: Digest of the previous version ("" for the founding charter): versions form a chain.
    previous: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")]
    issued: Time
    expires: Time
    council: Annotated[tuple[Councillor, ...], msgspec.Meta(min_length=1, max_length=MAX_COUNCIL)]
    thresholds: Thresholds
    #: Acts that need the grave threshold (``charter`` always does).
    grave: Kinds
    #: Acts the chair may sign alone.
    delegated: Kinds
    rotation: Rotation
    hub_keys: Annotated[tuple[HubKey, ...], msgspec.Meta(min_length=1, max_length=MAX_HUB_KEYS)]
    policy_sha256: Sha256Hex
    never_block_sha256: Sha256Hex


class SignedCharter(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A charter as it is stored and shipped: the document and its councillors' signatures."""

    charter: Charter
    signatures: Signatures


class Challenge(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a new councillor's key signs before admission (binds alliance, name and key)."""

    alliance: str
    name: str
    public_key: str


def charter_digest(charter: Charter) -> bytes:
    """The 32-byte digest councillors sign, and successors name as ``previous``."""
    return digest(DOMAIN, charter)


def challenge(alliance: str, name: str, public_key_hex: str) -> bytes:
    """The digest a candidate councillor's key must sign to be admitted."""
    return digest(CHALLENGE_DOMAIN, Challenge(alliance, name, public_key_hex))


@functools.lru_cache(maxsize=64)
def council_keys(charter: Charter) -> Mapping[str, tuple[str, str]]:
    """Key id -> (name, public key hex) for :func:`~shieldwall.governance.signatures.tally`.

    Cached: a member checks every act against the same charter, and hashing a frozen
    charter costs less than hashing every councillor's key again.
    """
    seats = {key_id_of(bytes.fromhex(c.public_key)): (c.name, c.public_key) for c in charter.council}
    return MappingProxyType(seats)


def threshold_for(charter: Charter, kind: str) -> int:
    """Signatures an act of ``kind`` needs under ``charter``."""
    return charter.thresholds.grave if kind in charter.grave else charter.thresholds.ordinary


_decoder = msgspec.json.Decoder(SignedCharter)


def decode_signed_charter(raw: bytes) -> SignedCharter:
    """Parse a signed charter; raises :class:`GovernanceError` ``malformed``."""
    if len(raw) > MAX_CHARTER_BYTES:
        raise GovernanceError("malformed", f"charter is {len(raw)} bytes (limit {MAX_CHARTER_BYTES})")
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise GovernanceError("malformed", f"charter is not valid: {exc}") from None


def check_rules(charter: Charter) -> None:
    """Refuse a charter that breaks a guard rail; raises :class:`GovernanceError` ``invalid``."""
    def refuse(message: str) -> None:
        raise GovernanceError("invalid", f"charter v{charter.version}: {message}")

    names = [c.name for c in charter.council]
    n, majority = len(names), len(names) // 2 + 1
    if len(set(names)) != n:
        refuse("two councillors share a name")
    if len({c.public_key for c in charter.council}) != n:
        refuse("two councillors share a key (one person would count twice)")
    ordinary, grave = charter.thresholds.ordinary, charter.thresholds.grave
    if not majority <= ordinary <= n:
        refuse(f"ordinary threshold {ordinary} must be a majority ({majority}) to the council size ({n})")
    if not ordinary <= grave <= n:
        refuse(f"grave threshold {grave} must be between the ordinary one ({ordinary}) and {n}")
    if "charter" not in charter.grave:
        refuse("charter changes must be grave acts")
    bad = set(charter.delegated) & (set(charter.grave) | NEVER_DELEGATED)
    if bad:
        refuse(f"the chair cannot be delegated {', '.join(sorted(bad))} (grave or council acts)")
    order = charter.rotation.order
    if len(set(order)) != len(order) or not set(order) <= set(names):
        refuse("the chair rotation must list councillors, each once")
    if (charter.rotation.term == "days") != (charter.rotation.days > 0):
        refuse("a term is either calendar-year (days 0) or a number of days (days >= 1)")
    if charter.expires <= charter.issued:
        refuse("it expires before it is issued")
    hub_names = [h.name for h in charter.hub_keys]
    hub_keys = {h.public_key for h in charter.hub_keys}
    if len(set(hub_names)) != len(hub_names) or len(hub_keys) != len(hub_names):
        refuse("hub keys must differ in name and key")
    if (charter.version == 1) != (charter.previous == ""):
        refuse("only version 1 has no previous version")
