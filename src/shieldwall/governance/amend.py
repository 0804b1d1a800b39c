"""Drafting charters: a councillor's card, the founding charter, and the next version.

Pure helpers the CLI and tests use to *write* charters; whether a draft becomes a
charter is decided by :mod:`.continuity` alone. Every draft passes
:func:`~shieldwall.governance.charter.check_rules` before it is returned, so a
councillor learns of a broken guard rail when proposing, not after collecting votes.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from shieldwall.errors import GovernanceError
from shieldwall.governance.charter import (
    ActKind,
    Charter,
    Councillor,
    HubKey,
    Rotation,
    Thresholds,
    challenge,
    charter_digest,
    check_rules,
)
from shieldwall.governance.signatures import sign_digest, verifies
from shieldwall.signals.keys import public_key_of

DEFAULT_GRAVE: tuple[ActKind, ...] = ("charter", "expel")
DEFAULT_LIFETIME = 365 * 86400


def councillor_card(seed: bytes, alliance: str, name: str) -> str:
    """``name:public key:proof``: what a candidate gives the council to be admitted."""
    key = public_key_of(seed).hex()
    proof = sign_digest(seed, challenge(alliance, name, key)).sig
    return f"{name}:{key}:{proof}"


def parse_card(text: str, alliance: str | None = None) -> Councillor:
    """A :class:`Councillor` from its card; ``malformed`` if it is not one.

    With ``alliance``, the card's proof is checked at once (``unproven-key``), so a key
    that cannot sign is refused when it is proposed, not when votes are counted.
    """
    try:
        name, key, proof = text.strip().split(":")
        seat = msgspec.convert({"name": name, "public_key": key, "proof": proof}, Councillor)
    except (ValueError, msgspec.ValidationError) as exc:
        raise GovernanceError("malformed", f"not a councillor card (name:key:proof): {exc}") from None
    if alliance is not None and not verifies(key, challenge(alliance, name, key), proof):
        raise GovernanceError(
            "unproven-key", f"{name}'s card was not signed by its key for alliance {alliance!r}")
    return seat


def parse_hub_key(text: str) -> HubKey:
    """A :class:`HubKey` from ``name:public key hex``."""
    try:
        name, key = text.strip().split(":")
        return msgspec.convert({"name": name, "public_key": key}, HubKey)
    except (ValueError, msgspec.ValidationError) as exc:
        raise GovernanceError("malformed", f"not a hub key (name:64 hex digits): {exc}") from None


def found(alliance: str, council: Sequence[Councillor], thresholds: Thresholds, rotation: Rotation,
          hub_keys: Sequence[HubKey], policy_sha256: str, never_block_sha256: str, issued: int,
          lifetime: int = DEFAULT_LIFETIME, grave: Sequence[ActKind] = DEFAULT_GRAVE,
          delegated: Sequence[ActKind] = ()) -> Charter:
    """The founding charter (version 1), checked against the guard rails."""
    charter = Charter(
        alliance=alliance, version=1, previous="", issued=issued, expires=issued + lifetime,
        council=tuple(council), thresholds=thresholds, grave=tuple(dict.fromkeys(grave)),
        delegated=tuple(dict.fromkeys(delegated)), rotation=rotation, hub_keys=tuple(hub_keys),
        policy_sha256=policy_sha256, never_block_sha256=never_block_sha256)
    return _checked(charter)


def amend(charter: Charter, issued: int, *, add: Sequence[Councillor] = (), remove: Sequence[str] = (),
          thresholds: Thresholds | None = None, hub_keys: Sequence[HubKey] | None = None,
          rotation: Rotation | None = None, lifetime: int = DEFAULT_LIFETIME) -> Charter:
    """The next version of ``charter`` with these changes, re-dated from ``issued``.

    Removed councillors leave the rotation; added ones join its end (unless a new
    ``rotation`` is given), so that the order always lists exactly the council.
    """
    gone = set(remove)
    unknown = gone - {c.name for c in charter.council}
    if unknown:
        raise GovernanceError("invalid", f"no councillor named {', '.join(sorted(unknown))}")
    council = tuple(c for c in charter.council if c.name not in gone) + tuple(add)
    if rotation is None:
        order = tuple(n for n in charter.rotation.order if n not in gone) + tuple(c.name for c in add)
        rotation = msgspec.structs.replace(charter.rotation, order=order)
    successor = msgspec.structs.replace(
        charter, version=charter.version + 1, previous=charter_digest(charter).hex(), issued=issued,
        expires=issued + lifetime, council=council, thresholds=thresholds or charter.thresholds,
        hub_keys=tuple(hub_keys) if hub_keys is not None else charter.hub_keys, rotation=rotation)
    return _checked(successor)


def _checked(charter: Charter) -> Charter:
    # msgspec checks bounds on decoding only: round-trip so a draft that would not read
    # back (a name with spaces, a time out of range) is refused before anyone signs it.
    try:
        charter = msgspec.json.decode(msgspec.json.encode(charter), type=Charter)
    except msgspec.ValidationError as exc:
        raise GovernanceError("invalid", f"charter v{charter.version}: {exc}") from None
    check_rules(charter)
    return charter
