"""Signed requests: how a member proves who it is on a plain HTTP request.

Envelopes authenticate the signals they carry; every other member request (the
decision stream, pages, leaving) carries three headers instead::

    X-Shieldwall-Key:       <key id>
    X-Shieldwall-Time:      <Unix seconds, as sent>
    X-Shieldwall-Content:   <hex SHA-256 of the body>
    X-Shieldwall-Signature: <base64 Ed25519 signature>

The signature covers a domain tag, the method, the path with its query, the
time and the SHA-256 of the body, so it cannot be moved to another request; the
time bounds how long a captured request stays usable. Because the body's hash
travels in a header, the hub authenticates a request *before* reading its body
(:func:`verify_request` with ``body=None``) and checks the body against the
signed hash afterwards (:func:`check_body`): a stranger cannot make the hub
buffer anything. Pure: ``now`` is passed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Callable, Mapping

import nacl.exceptions
import nacl.signing

from shieldwall.errors import SignalError
from shieldwall.signals.keys import MemberKey

DOMAIN = b"shieldwall/request/v1\n"
KEY_HEADER = "x-shieldwall-key"
TIME_HEADER = "x-shieldwall-time"
SIGNATURE_HEADER = "x-shieldwall-signature"
CONTENT_HEADER = "x-shieldwall-content"
_EMPTY = hashlib.sha256(b"").hexdigest()
#: How far a request's time may be from the hub's clock, either way, in seconds.
MAX_REQUEST_SKEW = 300.0


def _message(method: str, target: str, ts: str, content: str) -> bytes:
    return b"\n".join(
        (
            DOMAIN,
            method.upper().encode("ascii"),
            target.encode("utf-8"),
            ts.encode("ascii"),
            content.encode("ascii"),
        )
    )


def sign_request(
    seed: bytes, key_id: str, method: str, target: str, now: float, body: bytes = b""
) -> dict[str, str]:
    """Headers that authenticate one request; ``target`` is the path plus query."""
    ts = f"{now:.3f}"
    content = hashlib.sha256(body).hexdigest()
    signature = nacl.signing.SigningKey(seed).sign(_message(method, target, ts, content)).signature
    return {
        KEY_HEADER: key_id,
        TIME_HEADER: ts,
        CONTENT_HEADER: content,
        SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
    }


def verify_request(
    headers: Mapping[str, str],
    method: str,
    target: str,
    body: bytes | None,
    lookup: Callable[[str], MemberKey | None],
    now: float,
    max_skew: float = MAX_REQUEST_SKEW,
) -> MemberKey:
    """The member that signed this request; raises :class:`SignalError` otherwise.

    ``headers`` must be looked up case-insensitively (Starlette's are) or use
    the lower-case names above. With ``body=None`` the body is not read yet: the
    signature is checked against the hash in the content header (absent means an
    empty body), and the caller must pass the body to :func:`check_body` once read.
    """
    key_id = headers.get(KEY_HEADER)
    ts = headers.get(TIME_HEADER)
    encoded = headers.get(SIGNATURE_HEADER)
    if not key_id or not ts or not encoded:
        raise SignalError("unsigned", "request is not signed by a member key")
    try:
        when = float(ts)
        signature = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise SignalError("malformed", "request signature headers are malformed") from None
    if not math.isfinite(when) or len(signature) != 64:
        raise SignalError("malformed", "request signature headers are malformed")
    key = lookup(key_id)
    if key is None:
        raise SignalError("unknown-key", f"no member has key id {key_id!r}")
    if key.revoked:
        raise SignalError("revoked-key", f"member {key.member!r} was revoked")
    if body is not None:
        content = hashlib.sha256(body).hexdigest()
    else:
        content = headers.get(CONTENT_HEADER) or _EMPTY
        if len(content) != 64 or not content.isascii():
            raise SignalError("malformed", "request content header is not a SHA-256 hex digest")
    try:
        nacl.signing.VerifyKey(key.public_key).verify(
            _message(method, target, ts, content), signature
        )
    except (nacl.exceptions.BadSignatureError, UnicodeEncodeError):
        raise SignalError("forged", "request signature does not verify") from None
    if when < now - max_skew:
        raise SignalError("stale", "request signature is too old; check the member's clock")
    if when > now + max_skew:
        raise SignalError("future-dated", "request is dated ahead; check the member's clock")
    return key


def check_body(headers: Mapping[str, str], body: bytes) -> None:
    """Refuse a body whose hash is not the one the request signature covers."""
    expected = headers.get(CONTENT_HEADER) or _EMPTY
    if hashlib.sha256(body).hexdigest() != expected:
        raise SignalError("altered", "request body does not match its signed hash")
