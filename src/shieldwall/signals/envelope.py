"""Signed envelopes: one member's batch of signals, one Ed25519 signature.

Pure: sealing and opening take the time as an argument and touch no I/O.

Wire format (JSON)::

    {"key_id": ..., "seq": 17, "ts": 1764380000.5, "signals": [...],
     "digest": "<sha256 hex>", "sig": "<base64 Ed25519 signature of the digest>"}

The *canonical bytes* are the msgspec JSON encoding of :class:`EnvelopeBody`
(fields in declared order, every field present), so both sides compute them
from decoded values and never depend on the sender's whitespace or key order.
``digest`` is SHA-256 over a domain tag plus the canonical bytes; the signature
covers the digest. That split lets the hub tell an *altered* envelope (the body
no longer matches its digest) from a *forged* one (a consistent body whose
signature was not made by the member's key).

Opening checks, in this order, each with its own reason string (see
:data:`REJECTION_REASONS`): malformed, unknown-key, revoked-key, altered, forged,
invalid-signal, stale, future-dated. The sequence rule (replayed, or a
byte-identical retry acknowledged as a duplicate) needs the member's last
applied sequence number and lives in :func:`check_sequence`, which the hub's
single writer calls so that two concurrent requests cannot both pass it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, cast

import msgspec
import nacl.exceptions
import nacl.signing

from shieldwall.addresses import Target, parse_target
from shieldwall.errors import AddressError, SignalError
from shieldwall.signals.bounds import MAX_SIGNALS, Base64Text, Cursor, Digest, KeyId, Seconds, Sequence
from shieldwall.signals.keys import MemberKey
from shieldwall.signals.signal import Signal

DOMAIN = b"shieldwall/envelope/v1\n"

#: Every reason an envelope can be rejected for, in the order they are checked.
REJECTION_REASONS: tuple[str, ...] = (
    "malformed",
    "unknown-key",
    "revoked-key",
    "altered",
    "forged",
    "stale",
    "future-dated",
    "invalid-signal",
    "replayed",
)

SCENARIO_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

Signals = Annotated[tuple[Signal, ...], msgspec.Meta(max_length=MAX_SIGNALS)]


class EnvelopeBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The signed part of an envelope; its JSON encoding is the canonical bytes."""

    key_id: KeyId
    seq: Sequence
    ts: Seconds
    signals: Signals


class Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An envelope as it travels: the body's fields plus digest and signature."""

    key_id: KeyId
    seq: Sequence
    ts: Seconds
    signals: Signals
    digest: Digest
    sig: Base64Text


@dataclass(frozen=True, slots=True)
class EnvelopeLimits:
    """Bounds on what one envelope may carry and how far its clock may be off."""

    #: Oldest acceptable envelope timestamp, in seconds before ``now``.
    max_age: float = 300.0
    #: Latest acceptable timestamp, in seconds after ``now`` (clock skew).
    max_skew: float = 60.0
    max_signals: int = MAX_SIGNALS
    max_evidence_lines: int = 20
    max_evidence_chars: int = 2048
    max_reason_chars: int = 512


DEFAULT_LIMITS = EnvelopeLimits()


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """An envelope whose signature, key and time checked out."""

    member: str
    key_id: str
    seq: int
    ts: float
    signals: tuple[Signal, ...]
    #: Hex SHA-256 of the canonical bytes: identifies the batch for idempotent retries.
    digest: str
    #: Each signal's parsed target, in order (so the policy does not parse it again).
    targets: tuple[Target, ...] = ()


def canonical_bytes(body: EnvelopeBody) -> bytes:
    """The bytes a member signs (through their digest) for ``body``."""
    return msgspec.json.encode(body)


def body_digest(body: EnvelopeBody) -> str:
    """Hex SHA-256 of the domain tag and the canonical bytes of ``body``."""
    return hashlib.sha256(DOMAIN + canonical_bytes(body)).hexdigest()


_body_decoder = msgspec.json.Decoder(EnvelopeBody)


def seal_envelope(
    seed: bytes, key_id: str, seq: int, ts: float, signals: tuple[Signal, ...] | list[Signal]
) -> bytes:
    """Sign a batch with the member's seed; returns the JSON bytes to POST.

    Keep the returned bytes for retries: sending them again is acknowledged as a
    duplicate and applied once, whereas re-sealing would need a new ``seq``.
    """
    body = EnvelopeBody(key_id=key_id, seq=seq, ts=ts, signals=tuple(signals))
    # Round-trip through the wire types so that what we sign is exactly what the hub
    # will decode (an int given for a float field would otherwise encode differently),
    # and so that a value the hub would refuse (out of the wire bounds) fails here.
    try:
        body = _body_decoder.decode(msgspec.json.encode(body))
    except msgspec.ValidationError as exc:
        raise SignalError("malformed", f"batch cannot be sent: {exc}") from None
    digest = body_digest(body)
    signature = nacl.signing.SigningKey(seed).sign(bytes.fromhex(digest)).signature
    envelope = Envelope(
        key_id=key_id,
        seq=seq,
        ts=ts,
        signals=body.signals,
        digest=digest,
        sig=base64.b64encode(signature).decode("ascii"),
    )
    return msgspec.json.encode(envelope)


_decoder = msgspec.json.Decoder(Envelope)


def open_envelope(
    raw: bytes,
    lookup: Callable[[str], MemberKey | None],
    now: float,
    limits: EnvelopeLimits = DEFAULT_LIMITS,
    check_time: bool = True,
) -> OpenedEnvelope:
    """Check everything about an envelope except its sequence number.

    ``lookup`` maps a key id to what the hub knows of that key. Raises
    :class:`SignalError` whose ``reason`` is one of :data:`REJECTION_REASONS`.
    The hub passes ``check_time=False`` and calls :func:`check_freshness` after
    :func:`check_sequence`, so that a late retry of a batch it already applied
    is still acknowledged as a duplicate instead of refused as stale (the
    member would otherwise re-seal it and it would be applied twice).
    """
    envelope = decode_envelope(raw)
    return verify_envelope(envelope, lookup(envelope.key_id), now, limits, check_time)


def decode_envelope(raw: bytes) -> Envelope:
    """Parse an envelope's JSON; raises :class:`SignalError` ``malformed``.

    The hub decodes first, looks the key id up (an I/O step), then calls
    :func:`verify_envelope`; :func:`open_envelope` does both with a lookup function.
    """
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        # The message names the field, e.g. "Expected `int` <= ... - at `$.seq`".
        raise SignalError("malformed", f"envelope is not valid: {exc}") from None


def verify_envelope(
    envelope: Envelope,
    key: MemberKey | None,
    now: float,
    limits: EnvelopeLimits = DEFAULT_LIMITS,
    check_time: bool = True,
) -> OpenedEnvelope:
    """Every check of :func:`open_envelope` on a decoded envelope and its key (or None)."""
    if envelope.seq < 1:
        raise SignalError("malformed", "envelope seq must be a positive integer")
    if not math.isfinite(envelope.ts):
        raise SignalError("malformed", "envelope ts must be a finite number")
    try:
        signature = base64.b64decode(envelope.sig, validate=True)
    except (binascii.Error, ValueError):
        raise SignalError("malformed", "envelope sig is not base64") from None
    if len(signature) != 64:
        raise SignalError("malformed", "envelope sig must be a 64-byte Ed25519 signature")

    if key is None:
        raise SignalError("unknown-key", f"no member has key id {envelope.key_id!r}; join first")
    if key.revoked:
        raise SignalError(
            "revoked-key", f"key {envelope.key_id} of member {key.member!r} was revoked"
        )

    body = EnvelopeBody(
        key_id=envelope.key_id, seq=envelope.seq, ts=envelope.ts, signals=envelope.signals
    )
    digest = body_digest(body)
    if digest != envelope.digest:
        raise SignalError("altered", "envelope body does not match its signed digest")
    try:
        nacl.signing.VerifyKey(key.public_key).verify(bytes.fromhex(digest), signature)
    except nacl.exceptions.BadSignatureError:
        raise SignalError(
            "forged", f"signature was not made by the key of member {key.member!r}"
        ) from None

    if len(envelope.signals) > limits.max_signals:
        raise SignalError(
            "invalid-signal", f"more than {limits.max_signals} signals in one envelope"
        )
    checked = [_check_signal(signal, limits) for signal in envelope.signals]
    if str in map(type, checked):  # one scan in C; a problem is a str, a target a tuple
        index, problem = next((i, c) for i, c in enumerate(checked) if isinstance(c, str))
        raise SignalError("invalid-signal", f"signal {index}: {problem}")
    if check_time:
        check_freshness(envelope.ts, now, limits)
    return OpenedEnvelope(
        member=key.member,
        key_id=envelope.key_id,
        seq=envelope.seq,
        ts=envelope.ts,
        signals=envelope.signals,
        digest=digest,
        targets=cast("tuple[Target, ...]", tuple(checked)),  # no str: refused above
    )


def check_freshness(ts: float, now: float, limits: EnvelopeLimits = DEFAULT_LIMITS) -> None:
    """Refuse an envelope dated too far in the past (stale) or future (future-dated)."""
    if ts < now - limits.max_age:
        raise SignalError("stale", f"envelope is {now - ts:.0f}s old (limit {limits.max_age:.0f}s)")
    if ts > now + limits.max_skew:
        raise SignalError(
            "future-dated",
            f"envelope is dated {ts - now:.0f}s ahead (limit {limits.max_skew:.0f}s);"
            " check the member's clock",
        )


def signal_problem(signal: Signal, limits: EnvelopeLimits = DEFAULT_LIMITS) -> str | None:
    """What is wrong with one signal, or ``None``; a batch is refused whole if any is wrong."""
    checked = _check_signal(signal, limits)
    return checked if isinstance(checked, str) else None


_INF = math.inf
_known_scenarios: set[str] = set()


def _check_signal(signal: Signal, limits: EnvelopeLimits) -> Target | str:
    # Hot path (every signal the hub receives): cheap checks, one parse.
    try:
        target = parse_target(signal.target)
    except AddressError as exc:
        return str(exc)
    scenario = signal.scenario
    if scenario not in _known_scenarios:
        if not SCENARIO_NAME.fullmatch(scenario):
            return f"scenario name {scenario[:80]!r} is not [a-z0-9._-], 1-64 chars"
        if len(_known_scenarios) < 4096:
            _known_scenarios.add(scenario)
    if signal.count < 1:
        return "count must be at least 1"
    # Chained comparisons are False for NaN as well as for out-of-range values.
    if not (0 <= signal.first_seen < _INF and 0 <= signal.last_seen < _INF
            and 0 <= signal.duration < _INF):
        return "first_seen, last_seen and duration must be finite, non-negative numbers"
    if signal.evidence:
        if len(signal.evidence) > limits.max_evidence_lines:
            return f"more than {limits.max_evidence_lines} evidence lines"
        if any(len(line) > limits.max_evidence_chars for line in signal.evidence):
            return f"an evidence line is longer than {limits.max_evidence_chars} characters"
    if len(signal.reason) > limits.max_reason_chars:
        return f"reason is longer than {limits.max_reason_chars} characters"
    return target


SequenceVerdict = Literal["apply", "duplicate"]


class Ack(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The hub's answer to an accepted envelope, sent only once it is durable.

    ``status`` is ``"duplicate"`` for a byte-identical retry of a batch already
    applied (nothing is applied twice). ``decisions`` are the cursors of the
    decisions this batch caused.
    """

    status: Literal["applied", "duplicate"]
    seq: Sequence
    signals: Annotated[int, msgspec.Meta(ge=0, le=MAX_SIGNALS)]
    decisions: Annotated[tuple[Cursor, ...], msgspec.Meta(max_length=MAX_SIGNALS)] = ()


def check_sequence(
    seq: int, digest: str, last_seq: int, applied_digest: str | None
) -> SequenceVerdict:
    """Decide what to do with an opened envelope given the member's history.

    ``last_seq`` is the highest sequence number applied for the member (0 when
    none); ``applied_digest`` is the digest of the batch already applied under
    ``seq``, if any. A byte-identical retry is a ``"duplicate"`` (acknowledge, do
    not apply again); any other ``seq <= last_seq`` is a replay.
    """
    if seq > last_seq:
        return "apply"
    if applied_digest is not None and applied_digest == digest:
        return "duplicate"
    raise SignalError(
        "replayed", f"sequence number {seq} is not above the last applied one ({last_seq})"
    )
