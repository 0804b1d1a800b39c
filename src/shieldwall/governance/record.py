"""The act log's records: every published act with its signatures, hash-chained.

A record names the digest of the one before it, so the log is append-only in the
sense that matters: anyone holding record N's digest can tell whether the records
before it were changed, dropped or reordered. One record is one JSON line.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import Act
from shieldwall.governance.signatures import Signatures, Time, digest

DOMAIN = b"shieldwall/act-record/v1\n"
MAX_RECORD_BYTES = 512 * 1024


class ActRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Record ``seq`` of the act log: the act, the signatures that carried it, when."""

    seq: Annotated[int, msgspec.Meta(ge=1, le=2**62)]
    #: Hex digest of record ``seq - 1`` ("" for the first record, the founding charter).
    previous: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")]
    published_at: Time
    act: Act
    signatures: Signatures


def record_digest(record: ActRecord) -> bytes:
    """The digest the next record names as ``previous``."""
    return digest(DOMAIN, record)


def encode_record(record: ActRecord) -> bytes:
    """One line of the log file (no newline)."""
    return msgspec.json.encode(record)


_decoder = msgspec.json.Decoder(ActRecord)


def decode_record(raw: bytes) -> ActRecord:
    """Parse one log line; raises :class:`GovernanceError` ``malformed``."""
    if len(raw) > MAX_RECORD_BYTES:
        raise GovernanceError("malformed", f"act record is {len(raw)} bytes (limit {MAX_RECORD_BYTES})")
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise GovernanceError("malformed", f"act record is not valid: {exc}") from None
