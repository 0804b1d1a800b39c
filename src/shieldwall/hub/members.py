"""Membership: join tokens, invites and the member names the hub accepts. Pure.

A join token carries everything a new member needs to reach the hub safely:
its address, the SHA-256 fingerprint of its TLS certificate (the member pins it,
so no certificate authority is involved; kubeadm's discovery hash does the
same), a one-time secret and an expiry. The hub stores only the secret's hash.

Format: ``swj1.`` followed by unpadded base64url of a JSON object. A hub run as
several replicas lists its other addresses (``replicas``) and, when the replicas
do not share one certificate, the other certificates' fingerprints (``pins``);
both are left out when empty, so a one-address token reads as it always did.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from typing import Annotated

import msgspec

from shieldwall.errors import HubError
from shieldwall.signals.hub_addresses import MAX_ADDRESSES, check_addresses, check_fingerprints

TOKEN_PREFIX = "swj1."
MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
FINGERPRINT = re.compile(r"[0-9a-f]{64}")


_More = Annotated[tuple[str, ...], msgspec.Meta(max_length=MAX_ADDRESSES - 1)]


class JoinToken(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """What a join token says."""

    #: ``host:port`` of the hub's API (IPv6 hosts in brackets).
    hub: str
    #: Hex SHA-256 of the hub certificate's DER bytes.
    fingerprint: str
    secret: str
    expires: float
    name: str = ""
    #: The hub's other addresses (replicas), tried when one fails.
    replicas: _More = ()
    #: Fingerprints of other replicas' certificates (when they do not share one).
    pins: _More = ()
    #: Hex digest of the council's founding charter: the member verifies the hub from it.
    charter: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")] = ""
    #: Hex SHA-256 of the arsenal's TUF root v1: the member's agent bootstraps its rules from it.
    arsenal: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")] = ""

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address of the hub, the first one first."""
        return (self.hub, *self.replicas)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Every certificate fingerprint the member may pin."""
        return (self.fingerprint, *self.pins)


def new_secret() -> str:
    """A fresh one-time join secret (256 bits, base64url)."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """What the hub stores instead of the secret."""
    return hashlib.sha256(b"shieldwall/join/v1\n" + secret.encode("utf-8")).hexdigest()


def encode_token(token: JoinToken) -> str:
    """The printable token."""
    raw = base64.urlsafe_b64encode(msgspec.json.encode(token)).rstrip(b"=")
    return TOKEN_PREFIX + raw.decode("ascii")


def decode_token(text: str) -> JoinToken:
    """Parse a printed token; raises :class:`HubError` saying what is wrong."""
    text = text.strip()
    if not text.startswith(TOKEN_PREFIX):
        raise HubError(f"not a Shieldwall join token (it should start with {TOKEN_PREFIX!r})")
    body = text[len(TOKEN_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        token = msgspec.json.decode(raw, type=JoinToken)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise HubError("join token is damaged; copy it again in full") from None
    if not FINGERPRINT.fullmatch(token.fingerprint):
        raise HubError("join token carries no valid certificate fingerprint")
    try:
        addresses = check_addresses(token.addresses)
        fingerprints = check_fingerprints(token.fingerprints)
    except HubError as exc:
        raise HubError(f"join token: {exc}") from None
    return msgspec.structs.replace(
        token, hub=addresses[0], replicas=addresses[1:], fingerprint=fingerprints[0],
        pins=fingerprints[1:],
    )


#: Names that label the hub's own actions in decisions and the log (``origin``):
#: a member called ``operator`` would make its blocks look like the operator's.
RESERVED_NAMES = frozenset({
    "operator", "hub", "shieldwall", "council", "alliance", "admin", "root", "system",
    "local", "localhost", "unknown", "anonymous", "nobody",
})


def check_member_name(name: str) -> str:
    """``name`` if it is a valid member name; raises :class:`HubError` otherwise."""
    if not MEMBER_NAME.fullmatch(name):
        raise HubError(
            f"member name {name[:80]!r} must be 1-63 letters, digits, '.', '_' or '-'"
        )
    if name.lower().rstrip("._-") in RESERVED_NAMES:
        raise HubError(f"member name {name!r} is reserved for the hub's own actions")
    return name


