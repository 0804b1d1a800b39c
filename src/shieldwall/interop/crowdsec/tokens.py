"""The watcher's bearer token: a JWT (HS256) the gateway issues at login and checks after.

CrowdSec's agent never looks inside the token (it parses only ``expire`` from
the login answer), so the format is ours to choose; a JWT keeps it familiar to
anyone reading CrowdSec traffic. Pure: the secret and ``now`` are arguments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import msgspec

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
MAX_TOKEN = 2048


class Claims(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sub: str
    exp: int
    iat: int


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


def issue(secret: bytes, machine: str, now: float, lifetime: float) -> str:
    """A token for ``machine`` valid until ``now + lifetime``."""
    body = _b64(msgspec.json.encode(Claims(machine, int(now + lifetime), int(now))))
    signed = _HEADER + b"." + body
    return (signed + b"." + _b64(hmac.digest(secret, signed, hashlib.sha256))).decode()


def verify(secret: bytes, token: str, now: float) -> str | None:
    """The machine a valid, unexpired token names; ``None`` for anything else."""
    raw = token.encode("ascii", "replace")
    if len(raw) > MAX_TOKEN or raw.count(b".") != 2:
        return None
    header, body, signature = raw.split(b".")
    expected = hmac.digest(secret, header + b"." + body, hashlib.sha256)
    try:
        if header != _HEADER or not hmac.compare_digest(_unb64(signature), expected):
            return None
        claims = msgspec.json.decode(_unb64(body), type=Claims)
    except (ValueError, msgspec.DecodeError):
        return None
    return claims.sub if claims.exp > now else None
