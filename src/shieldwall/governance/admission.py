"""Joining after admission by vote: what the hub answers, and what the member checks. Pure.

Under a council a member is admitted by an ``admit`` act naming its organisation and
member key; no join token exists. The organisation asks the hub for what a token would
have carried (:class:`Welcome`: the hub's addresses, the certificates to pin, the founding
charter, the arsenal root) with a request signed by the admitted key and carrying a fresh
nonce. The hub signs the welcome with its identity key and sends its act log with it.

:func:`verify_welcome` is the member's whole check: the act log verifies from the founding
charter the member was given (not the one the hub names), the welcome is signed by a hub key
of the charter in force, it answers this request (the nonce) for this key, and the verified
log admits this key under this name and has not expelled it since. A hub that serves
another council, forges or replays a welcome, or welcomes a key the council never admitted
is refused, and the member writes nothing.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shieldwall.errors import GovernanceError
from shieldwall.governance.record import ActRecord
from shieldwall.governance.signatures import (
    Name,
    PublicKeyHex,
    Sha256Hex,
    Signature,
    digest,
    sign_digest,
    verifies,
)
from shieldwall.governance.standing import Standing, standing

DOMAIN = b"shieldwall/admitted-welcome/v1\n"
#: The signed request's path (``POST``), on every replica.
ADMITTED_JOIN = "/v1/join/admitted"
#: Addresses and fingerprints a welcome may list (as a join token's).
MAX_HUBS = 16
MAX_WELCOME_BYTES = 16 * 1024 * 1024

_Hubs = Annotated[tuple[Annotated[str, msgspec.Meta(max_length=300)], ...],
                  msgspec.Meta(min_length=1, max_length=MAX_HUBS)]


class AdmissionRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The admitted member's request body: a fresh nonce the signed welcome repeats."""

    nonce: Sha256Hex


class Welcome(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the hub tells a member the council admitted (the signed part)."""

    alliance: Name
    member: Name
    public_key: PublicKeyHex
    nonce: Sha256Hex
    #: ``host:port`` of every replica, the preferred one first.
    addresses: _Hubs
    #: Hex SHA-256 of every certificate the replicas present.
    fingerprints: Annotated[tuple[Sha256Hex, ...], msgspec.Meta(min_length=1, max_length=MAX_HUBS)]
    #: The founding charter's digest the hub runs under.
    charter: Sha256Hex
    #: Hex SHA-256 of the arsenal's TUF root v1 ("" when the alliance shares no rules).
    arsenal: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")]
    #: The act log position the welcome was signed at (the log travels beside it).
    acts_seq: int
    acts_head: Sha256Hex


class SignedWelcome(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The hub's answer: the welcome, its signature by a hub key, and the act log."""

    welcome: Welcome
    signature: Signature
    acts: tuple[ActRecord, ...]


def welcome_digest(welcome: Welcome) -> bytes:
    """What the hub's identity key signs."""
    return digest(DOMAIN, welcome)


def sign_welcome(seed: bytes, welcome: Welcome, acts: tuple[ActRecord, ...]) -> SignedWelcome:
    """The hub's signed answer."""
    return SignedWelcome(welcome, sign_digest(seed, welcome_digest(welcome)), acts)


_decoder = msgspec.json.Decoder(SignedWelcome)


def decode_welcome(raw: bytes) -> SignedWelcome:
    """Parse the hub's answer; raises :class:`GovernanceError` ``malformed``."""
    if len(raw) > MAX_WELCOME_BYTES:
        raise GovernanceError("malformed", f"the welcome is {len(raw)} bytes (limit {MAX_WELCOME_BYTES})")
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise GovernanceError("malformed", f"the hub's welcome is not valid: {exc}") from None


def verify_welcome(signed: SignedWelcome, pinned_hex: str, public_key_hex: str, nonce: str,
                   now: int) -> Standing:
    """The council's standing if ``signed`` welcomes this key; see the module docstring.

    Raises :class:`GovernanceError`: ``wrong-charter``, the act log's own reasons
    (``forged``, ``expired``...), ``forked``, ``unknown-hub-key``, ``forged``,
    ``replayed`` or ``not-admitted``.
    """
    welcome = signed.welcome
    if welcome.charter != pinned_hex:
        raise GovernanceError(
            "wrong-charter", f"the hub runs under the council founded by charter {welcome.charter[:16]}...,"
            f" not the one you were given ({pinned_hex[:16]}...): wrong hub, or a hub not of this alliance")
    state = standing(signed.acts, bytes.fromhex(pinned_hex), now)
    if (welcome.acts_seq, welcome.acts_head) != (state.state.seq, state.state.head.hex()):
        raise GovernanceError("forked", "the welcome names another act log than the one sent with it")
    hub_key = state.hub_keys.get(signed.signature.key_id)
    if hub_key is None:
        raise GovernanceError(
            "unknown-hub-key", f"the welcome is signed by key {signed.signature.key_id}, which is no hub"
            f" key of charter v{state.charter_version}")
    if not verifies(hub_key, welcome_digest(welcome), signed.signature.sig):
        raise GovernanceError("forged", "the welcome's signature does not verify under the charter's hub key")
    if welcome.nonce != nonce:
        raise GovernanceError("replayed", "the welcome answers another request (its nonce differs)")
    if welcome.public_key != public_key_hex:
        raise GovernanceError("not-admitted", "the welcome is for another member key")
    if state.state.members.get(welcome.member) != public_key_hex:
        raise GovernanceError(
            "not-admitted", f"the council's act log does not admit this key as {welcome.member!r} (never"
            " admitted, or expelled since): ask a councillor to propose your admission")
    return state
