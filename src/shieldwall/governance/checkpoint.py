"""The hub's signature over its decision log: a hash chain and signed checkpoints. Pure.

Signing every decision would cost the hub one Ed25519 signature each (about 49k/s on a
core) and every member one verification each (about 18k/s). Instead the log is a hash
chain, ``chain(N) = SHA-256(DOMAIN + chain(N-1) + decision N's wire bytes)`` from 32 zero
bytes before the first decision, and the hub signs a :class:`Checkpoint` of the chain's
head after each group it writes: one signature per group, one verification per group
on each member, and a SHA-256 per decision. A checkpoint also names the act log
position (seq and head) it was signed under, so a member learns of a newer council act
from the hub's own signed word, and a hub that serves an older act log than it signed
for is caught.

A member that verified up to cursor N holds ``chain(N)``: any decision the hub changed,
dropped, reordered or inserted after N makes the chain differ from the next checkpoint.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import msgspec

from shieldwall.decisions.decision import Decision, encode_decision
from shieldwall.errors import GovernanceError
from shieldwall.governance.signatures import Name, Sha256Hex, Signature, Time, digest, sign_digest, verifies
from shieldwall.signals.keys import key_id_of

DOMAIN = b"shieldwall/decision-chain/v1\n"
CHECKPOINT_DOMAIN = b"shieldwall/checkpoint/v1\n"
#: The chain value before the first decision.
GENESIS = bytes(32)
MAX_CHECKPOINT_BYTES = 4096


class Checkpoint(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The hub's word: its decision log up to ``cursor`` hashes to ``chain``."""

    alliance: Name
    cursor: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
    chain: Sha256Hex
    #: The act log position the hub was governed by when it signed (seq 0: none).
    acts_seq: Annotated[int, msgspec.Meta(ge=0, le=2**62)]
    acts_head: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")]
    issued: Time


class SignedCheckpoint(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A checkpoint and the hub key's signature of it."""

    checkpoint: Checkpoint
    signature: Signature


def chain_step(previous: bytes, decision: Decision) -> bytes:
    """The chain value after ``decision`` (``previous`` is the value before it)."""
    return hashlib.sha256(DOMAIN + previous + encode_decision(decision)).digest()


def chain_over(previous: bytes, decisions: list[Decision]) -> bytes:
    """The chain value after every decision of ``decisions``, in order."""
    sha256 = hashlib.sha256
    for decision in decisions:
        previous = sha256(DOMAIN + previous + encode_decision(decision)).digest()
    return previous


def checkpoint_digest(checkpoint: Checkpoint) -> bytes:
    """What the hub key signs."""
    return digest(CHECKPOINT_DOMAIN, checkpoint)


def sign_checkpoint(seed: bytes, checkpoint: Checkpoint) -> SignedCheckpoint:
    """``checkpoint`` signed with the hub identity ``seed``."""
    return SignedCheckpoint(checkpoint, sign_digest(seed, checkpoint_digest(checkpoint)))


def check_checkpoint(signed: SignedCheckpoint, hub_keys: dict[str, str], alliance: str) -> None:
    """Refuse a checkpoint not signed by one of ``hub_keys`` (key id -> public key hex)."""
    checkpoint = signed.checkpoint
    if checkpoint.alliance != alliance:
        raise GovernanceError(
            "wrong-alliance", f"checkpoint is for {checkpoint.alliance!r}, not {alliance!r}")
    public = hub_keys.get(signed.signature.key_id)
    if public is None:
        raise GovernanceError(
            "unknown-hub-key", f"checkpoint at cursor {checkpoint.cursor} is signed by key"
            f" {signed.signature.key_id}, which the charter does not name as a hub key")
    if not verifies(public, checkpoint_digest(checkpoint), signed.signature.sig):
        raise GovernanceError("forged", f"checkpoint at cursor {checkpoint.cursor}: its signature"
                              " does not verify under the hub key")


def hub_key_ids(public_keys: list[str]) -> dict[str, str]:
    """Key id -> public key hex for :func:`check_checkpoint`."""
    return {key_id_of(bytes.fromhex(k)): k for k in public_keys}


_decoder = msgspec.json.Decoder(SignedCheckpoint)


def encode_checkpoint(signed: SignedCheckpoint) -> bytes:
    """Wire bytes of a signed checkpoint."""
    return msgspec.json.encode(signed)


def decode_checkpoint(raw: bytes | str) -> SignedCheckpoint:
    """Parse a signed checkpoint; raises :class:`GovernanceError` ``malformed``."""
    if len(raw) > MAX_CHECKPOINT_BYTES:
        raise GovernanceError("malformed", f"checkpoint is {len(raw)} bytes (limit {MAX_CHECKPOINT_BYTES})")
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise GovernanceError("malformed", f"checkpoint is not valid: {exc}") from None
