"""Members and invites on PostgreSQL: each function runs on the caller's connection
(and, where it writes, inside the caller's transaction)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres import rows
from shieldwall.hub.ledger.storage import InviteRecord, MemberRecord, WriteGroup

if TYPE_CHECKING:
    import asyncpg


async def add_invite(conn: asyncpg.Connection, invite: InviteRecord) -> None:
    """Store a one-time join secret."""
    await conn.execute(
        "INSERT INTO invites (secret_hash, name, created, expires, owns) VALUES ($1,$2,$3,$4,$5)",
        invite.secret_hash, invite.name, invite.created, invite.expires, rows.ranges_text(invite.owns),
    )


async def invite(conn: asyncpg.Connection, secret_hash: str) -> InviteRecord | None:
    """The invite stored under ``secret_hash``, used or not."""
    row = await conn.fetchrow(
        f"SELECT {rows.INVITE_COLUMNS} FROM invites WHERE secret_hash = $1", secret_hash
    )
    return None if row is None else rows.invite(row)


async def redeem(
    conn: asyncpg.Connection, secret_hash: str, member: MemberRecord, now: float
) -> MemberRecord:
    """In a transaction: consume the invite and add the member. The invite row is locked
    first, so two replicas redeeming one token at once admit one member."""
    row = await conn.fetchrow(
        "SELECT name, expires, used_by FROM invites WHERE secret_hash = $1 FOR UPDATE", secret_hash
    )
    if row is None:
        raise HubError("this join token is not known to the hub")
    if row["used_by"]:
        raise HubError("this join token was already used; ask for a new one")
    if float(row["expires"]) < now:
        raise HubError("this join token has expired; ask for a new one")
    name = str(row["name"]) or member.name
    taken = await conn.fetchval(
        "SELECT 1 FROM members WHERE name = $1 OR key_id = $2", name, member.key_id
    )
    if taken is not None:
        raise HubError(f"a member named {name!r} (or with this key) already exists")
    await conn.execute(
        "INSERT INTO members (name, key_id, public_key, owns, joined) VALUES ($1,$2,$3,$4,$5)",
        name, member.key_id, member.public_key, rows.ranges_text(member.owns), now,
    )
    await conn.execute(
        "UPDATE invites SET used_by = $1, used_at = $2 WHERE secret_hash = $3", name, now, secret_hash
    )
    return MemberRecord(name=name, key_id=member.key_id, public_key=member.public_key,
                        owns=member.owns, joined=now)


async def revoke(conn: asyncpg.Connection, name: str, why: str, now: float) -> MemberRecord:
    """Mark ``name`` revoked (the first revocation time is kept)."""
    row = await conn.fetchrow(
        "UPDATE members SET revoked_at = COALESCE(revoked_at, $1), revoked_why = $2"
        f" WHERE name = $3 RETURNING {rows.MEMBER_COLUMNS}", now, why, name,
    )
    if row is None:
        raise HubError(f"no member named {name!r}; see `shieldwall hub members`")
    return rows.member(row)


async def members(conn: asyncpg.Connection) -> list[MemberRecord]:
    """Every member by name."""
    found = await conn.fetch(f"SELECT {rows.MEMBER_COLUMNS} FROM members ORDER BY name")
    return [rows.member(r) for r in found]


async def by_key(conn: asyncpg.Connection, key_id: str) -> MemberRecord | None:
    """The member owning ``key_id``, revoked or not."""
    row = await conn.fetchrow(f"SELECT {rows.MEMBER_COLUMNS} FROM members WHERE key_id = $1", key_id)
    return None if row is None else rows.member(row)


async def apply_counts(conn: asyncpg.Connection, group: WriteGroup) -> None:
    """In the group's transaction: members' last seq, counts, rejections and cursors."""
    per_member: dict[str, tuple[int, int, float]] = {}
    for b in group.batches:
        seq, count, seen = per_member.get(b.member, (0, 0, 0.0))
        per_member[b.member] = (max(seq, b.seq), count + b.count, max(seen, b.received))
    if per_member:
        await conn.executemany(
            "UPDATE members SET last_seq = GREATEST(last_seq, $1), signals = signals + $2,"
            " last_seen = GREATEST(last_seen, $3) WHERE name = $4",
            [(seq, count, seen, m) for m, (seq, count, seen) in per_member.items()],
        )
    if group.rejected:
        await conn.executemany(
            "UPDATE members SET rejected = rejected + $1 WHERE name = $2",
            [(n, m) for m, n in group.rejected.items()],
        )
    if group.cursors:
        await conn.executemany(
            "UPDATE members SET cursor = $1, last_seen = GREATEST(last_seen, $2) WHERE name = $3",
            [(c, when, m) for m, (c, when) in group.cursors.items()],
        )
