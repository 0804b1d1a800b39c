"""Members and invites on PostgreSQL: each function runs on the caller's connection
(and, where it writes, inside the caller's transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres import rows
from shieldwall.hub.ledger.storage import InviteRecord, MemberChange, MemberRecord, WriteGroup

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


async def change(conn: asyncpg.Connection, change: MemberChange, now: float) -> None:
    """In the caller's transaction: register ``change.admit``, revoke ``change.revoke``."""
    if change.admit is not None:
        member = change.admit
        taken = await conn.fetchval(
            "SELECT 1 FROM members WHERE name = $1 OR key_id = $2", member.name, member.key_id
        )
        if taken is not None:
            raise HubError(f"a member named {member.name!r} (or with this key) already exists")
        await conn.execute(
            "INSERT INTO members (name, key_id, public_key, owns, joined) VALUES ($1,$2,$3,$4,$5)",
            member.name, member.key_id, member.public_key, rows.ranges_text(member.owns), now,
        )
    if change.revoke:
        await revoke(conn, change.revoke, change.why, now)


async def members(conn: asyncpg.Connection) -> list[MemberRecord]:
    """Every member by name."""
    found = await conn.fetch(f"SELECT {rows.MEMBER_COLUMNS} FROM members ORDER BY name")
    return [rows.member(r) for r in found]


async def declare_proxies(conn: asyncpg.Connection, name: str, proxies: Sequence[str], now: float) -> None:
    """In the caller's transaction: replace ``name``'s declared proxies (empty: withdraw)."""
    revoked = await conn.fetchrow("SELECT revoked_at FROM members WHERE name = $1", name)
    if revoked is None or revoked["revoked_at"] is not None:
        raise HubError(f"no active member named {name!r} to declare proxies for")
    if proxies:
        await conn.execute(
            "INSERT INTO member_proxies (member, proxies, declared) VALUES ($1, $2, $3)"
            " ON CONFLICT (member) DO UPDATE SET proxies = EXCLUDED.proxies, declared = EXCLUDED.declared",
            name, rows.ranges_text(tuple(proxies)), now,
        )
    else:
        await conn.execute("DELETE FROM member_proxies WHERE member = $1", name)


async def declared_proxies(conn: asyncpg.Connection) -> dict[str, tuple[str, ...]]:
    """member -> its declared reverse proxies."""
    found = await conn.fetch("SELECT member, proxies FROM member_proxies ORDER BY member")
    return {str(r["member"]): tuple(msgspec.json.decode(str(r["proxies"]), type=list[str])) for r in found}


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
