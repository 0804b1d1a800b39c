"""Council signatures: the bounded wire types, signing a digest, and counting signers.

The house way of signing (as :mod:`shieldwall.signals.envelope` does): a domain tag
plus the msgspec JSON encoding of a frozen struct is hashed with SHA-256, and the
Ed25519 signature covers that digest. Keys and their ids come from
:mod:`shieldwall.signals.keys`, so a councillor's key id is computed the same way
as a member's.

Counting is where thresholds are won or lost, so :func:`tally` is strict about
what counts: one vote per councillor however many signatures carry their key id,
nothing for a key that is not on the council, nothing for a signature that does not
verify. It never raises: it reports what it saw, and the caller decides and says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

import msgspec
import nacl.exceptions
import nacl.signing

from shieldwall.signals.keys import KEY_ID_HEX_CHARS, key_id_of, public_key_of

#: Wire bounds: every governance document is small, and is refused whole if it is not.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")]
PublicKeyHex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
SignatureHex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{128}$")]
Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
KeyIdHex = Annotated[str, msgspec.Meta(pattern=f"^[0-9a-f]{{{KEY_ID_HEX_CHARS}}}$")]
#: Unix seconds, as integers so that the canonical bytes never depend on float printing.
Time = Annotated[int, msgspec.Meta(ge=0, le=10**11)]
Note = Annotated[str, msgspec.Meta(max_length=1024)]
MAX_SIGNATURES = 128


class Signature(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One councillor's Ed25519 signature of a digest, named by the key id that made it."""

    key_id: KeyIdHex
    sig: SignatureHex


Signatures = Annotated[tuple[Signature, ...], msgspec.Meta(max_length=MAX_SIGNATURES)]


def digest(domain: bytes, value: msgspec.Struct) -> bytes:
    """SHA-256 over ``domain`` and the canonical (msgspec JSON) bytes of ``value``."""
    return hashlib.sha256(domain + msgspec.json.encode(value)).digest()


def sign_digest(seed: bytes, message: bytes) -> Signature:
    """Sign ``message`` (a digest) with the 32-byte Ed25519 ``seed``."""
    signed = nacl.signing.SigningKey(seed).sign(message).signature
    return Signature(key_id=key_id_of(public_key_of(seed)), sig=signed.hex())


def verifies(public_key_hex: str, message: bytes, sig_hex: str) -> bool:
    """Whether ``sig_hex`` is a valid signature of ``message`` by ``public_key_hex``."""
    try:
        nacl.signing.VerifyKey(bytes.fromhex(public_key_hex)).verify(message, bytes.fromhex(sig_hex))
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class Tally:
    """What a set of signatures amounts to against one council."""

    #: Names of councillors with at least one valid signature (each counted once).
    signers: frozenset[str]
    #: Key ids on the council whose signature did not verify.
    forged: tuple[str, ...] = ()
    #: Key ids not on this council (an outsider, or a councillor of another version).
    strangers: tuple[str, ...] = ()
    #: Signatures beyond the first for a key id that already counted.
    duplicates: int = 0

    def meets(self, threshold: int) -> bool:
        """Whether at least ``threshold`` distinct councillors signed."""
        return len(self.signers) >= threshold

    def explain(self, threshold: int, who: str) -> str:
        """One sentence a councillor can act on: who signed, who is missing, what was refused."""
        text = f"{who} signed by {len(self.signers)} of the {threshold} required"
        if self.signers:
            text += f" ({', '.join(sorted(self.signers))})"
        if self.forged:
            text += f"; forged signature for key {', '.join(self.forged)}"
        if self.duplicates:
            text += f"; {self.duplicates} duplicate signature(s) counted once"
        return text


def tally(message: bytes, signatures: Iterable[Signature], council: Mapping[str, tuple[str, str]],
          memo: dict[tuple[str, str, str], bool] | None = None) -> Tally:
    """Count the distinct councillors whose signature of ``message`` verifies.

    ``council`` maps key id -> (name, public key hex). Strangers are listed but not
    checked (an outsider's valid signature is worth nothing anyway). ``memo`` lets two
    tallies of the same message (old and new council) verify each signature once.
    """
    signers: set[str] = set()
    seen: set[str] = set()
    forged: list[str] = []
    strangers: list[str] = []
    duplicates = 0
    for signature in signatures:
        member = council.get(signature.key_id)
        if member is None:
            strangers.append(signature.key_id)
            continue
        if signature.key_id in seen:
            duplicates += 1
            continue
        key = (member[1], signature.sig, message.hex())
        valid = memo.get(key) if memo is not None else None
        if valid is None:
            valid = verifies(member[1], message, signature.sig)
            if memo is not None:
                memo[key] = valid
        if valid:
            seen.add(signature.key_id)
            signers.add(member[0])
        else:
            forged.append(signature.key_id)
    return Tally(frozenset(signers), tuple(forged), tuple(strangers), duplicates)
