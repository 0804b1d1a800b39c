"""PostgreSQL rows to the ledger's records, and the column lists that select them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from shieldwall.hub.ledger.storage import InviteRecord, MemberRecord, StoredSignal
from shieldwall.signals.signal import Signal

if TYPE_CHECKING:
    import asyncpg

MEMBER_COLUMNS = (
    "name, key_id, public_key, owns, joined, revoked_at, revoked_why, last_seen, last_seq,"
    " signals, rejected, cursor"
)
SIGNAL_COLUMNS = (
    "member, kind, target, scenario, count, first_seen, last_seen, duration, reason, evidence,"
    " received, outcome, note, decision"
)
INVITE_COLUMNS = "secret_hash, name, created, expires, used_by, owns"

_ranges = msgspec.json.Decoder(list[str])
_evidence = msgspec.json.Decoder(tuple[str, ...])


def storable(value: str) -> str:
    """``value`` as PostgreSQL text can hold it: NUL (U+0000), which SQLite and the wire
    format accept, becomes U+FFFD. Refusing it would fail a whole group commit (every
    member's batches in it) for one member's byte."""
    return value.replace("\x00", "\ufffd")


def ranges_text(ranges: tuple[str, ...]) -> str:
    """The JSON text a list of ranges is stored as (the SQLite ledger's encoding)."""
    return msgspec.json.encode(list(ranges)).decode()


def member(row: asyncpg.Record) -> MemberRecord:
    """A ``members`` row selected as :data:`MEMBER_COLUMNS`."""
    revoked = row["revoked_at"]
    return MemberRecord(
        name=str(row["name"]), key_id=str(row["key_id"]), public_key=bytes(row["public_key"]),
        owns=tuple(_ranges.decode(str(row["owns"]))), joined=float(row["joined"]),
        revoked_at=None if revoked is None else float(revoked), revoked_why=str(row["revoked_why"]),
        last_seen=float(row["last_seen"]), last_seq=int(row["last_seq"]),
        signals=int(row["signals"]), rejected=int(row["rejected"]), cursor=int(row["cursor"]),
    )


def invite(row: asyncpg.Record) -> InviteRecord:
    """An ``invites`` row selected as :data:`INVITE_COLUMNS`."""
    return InviteRecord(
        str(row["secret_hash"]), str(row["name"]), float(row["created"]), float(row["expires"]),
        str(row["used_by"]), tuple(_ranges.decode(str(row["owns"]))),
    )


def stored_signal(row: asyncpg.Record) -> StoredSignal:
    """A ``signals`` row selected as :data:`SIGNAL_COLUMNS`."""
    signal = Signal(
        kind=row["kind"], target=str(row["target"]), scenario=str(row["scenario"]),
        count=int(row["count"]), first_seen=float(row["first_seen"]),
        last_seen=float(row["last_seen"]), duration=float(row["duration"]),
        reason=str(row["reason"]), evidence=_evidence.decode(str(row["evidence"])),
    )
    decision = row["decision"]
    return StoredSignal(
        str(row["member"]), signal, float(row["received"]), str(row["outcome"]), str(row["note"]),
        None if decision is None else int(decision),
    )
