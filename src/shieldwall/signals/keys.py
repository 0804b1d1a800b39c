"""Member keys: Ed25519 key pairs and the short ids that name them on the wire.

A member signs with the 32-byte seed of its Ed25519 key; the hub knows only the
public key. The key id is a hash of the public key, so it cannot be chosen to
collide with another member's id without also owning a colliding key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import nacl.signing

KEY_ID_HEX_CHARS = 32


def key_id_of(public_key: bytes) -> str:
    """The id under which a public key signs: 128 bits of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:KEY_ID_HEX_CHARS]


def new_seed() -> bytes:
    """A fresh random 32-byte Ed25519 seed (the member's private key)."""
    return bytes(nacl.signing.SigningKey.generate())


def public_key_of(seed: bytes) -> bytes:
    """The raw 32-byte public key that belongs to ``seed``."""
    return bytes(nacl.signing.SigningKey(seed).verify_key)


@dataclass(frozen=True, slots=True)
class MemberKey:
    """What the hub knows about one signing key: whose it is and whether it still counts."""

    member: str
    key_id: str
    public_key: bytes
    revoked: bool = False
