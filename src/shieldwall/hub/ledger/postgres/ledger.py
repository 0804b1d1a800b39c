"""The :class:`~shieldwall.hub.ledger.storage.Ledger` on PostgreSQL, for hub replicas.

Same records, same contract as the SQLite ledger: :meth:`PostgresLedger.write` is one
transaction (durable when PostgreSQL's ``synchronous_commit`` is on, its default)
and writes nothing if any part fails. Decisions are appended through
:mod:`.decision_log` under this replica's leader epoch (:attr:`PostgresLedger.epoch`,
set from the :class:`~.elector.Elector`'s lease): a replica that does not lead, or
no longer leads, cannot write a decision, and the whole group is refused with it.
Signal ids come from their sequence inside the one writer's transaction, so
``batches.first_signal`` bounds the ids of a batch as on SQLite.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, cast

import asyncpg

from shieldwall.decisions.decision import Decision
from shieldwall.errors import HubError
from shieldwall.hub.ledger.postgres import decision_log, journal, membership, roster, signals
from shieldwall.hub.ledger.postgres.lease import Lease, Role
from shieldwall.hub.ledger.postgres.schema import migrate, redacted, require_current
from shieldwall.hub.ledger.storage import (
    InviteRecord,
    JournalEntry,
    MemberChange,
    MemberRecord,
    StoredDecision,
    StoredJournalEntry,
    StoredSignal,
    WriteGroup,
)

if TYPE_CHECKING:
    from shieldwall.hub.policy_view import PolicyRows, ViewQuery

def _storable(value: str) -> bytes:
    # rows.storable, inlined: asyncpg calls this for every text value it sends (eight
    # per signal row), and one Python frame less is a tenth of the row's encoding.
    return value.replace("\x00", "\ufffd").encode()


def _text(data: bytes) -> str:
    return data.decode()


async def _setup(conn: asyncpg.Connection) -> None:
    """Every pooled connection sends text through :func:`_storable` (binary: COPY too)."""
    for name in ("text", "varchar"):
        await conn.set_type_codec(name, schema="pg_catalog", format="binary",
                                  encoder=_storable, decoder=_text)


class PostgresLedger:
    """The hub's ledger in the PostgreSQL database at ``url``."""

    def __init__(self, url: str, pool_size: int = 10, acquire_timeout: float = 10.0) -> None:
        self.url = url
        #: Connections shared by the writer, every stream's backlog reads and requests.
        self.pool_size = pool_size
        self.acquire_timeout = acquire_timeout
        self._pool: asyncpg.Pool | None = None
        #: The leader epoch this replica appends under; None while it does not lead.
        self.epoch: int | None = None
        self._seen_changes: int | None = None
        self._own_changes = 0

    def on_lease(self, lease: Lease) -> None:
        """Follow the election (pass as the Elector's ``on_change``)."""
        self.epoch = lease.epoch if lease.role is Role.LEADER else None

    # -- plumbing --------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise HubError("ledger is closed")
        try:
            # Bounded: a request waiting behind a pool held by slow work fails and is
            # retried by its member, instead of hanging (a stream would stall silently).
            async with self._pool.acquire(timeout=self.acquire_timeout) as proxy:
                # The pool hands out a proxy that forwards every Connection method.
                yield cast("asyncpg.Connection", proxy)
        except TimeoutError:
            raise HubError(
                f"the ledger database {redacted(self.url)} is busy: no connection came free"
                f" within {self.acquire_timeout:g} s; retry"
            ) from None
        except (OSError, asyncpg.InterfaceError, asyncpg.exceptions.PostgresConnectionError) as exc:
            raise HubError(f"the ledger database {redacted(self.url)} is unreachable: {exc}") from None
        except asyncpg.PostgresError as exc:
            raise HubError(f"the ledger database {redacted(self.url)} refused a query: {exc}") from None

    @contextlib.asynccontextmanager
    async def _writing(self, what: str) -> AsyncIterator[asyncpg.Connection]:
        """A write transaction that counts itself (see :meth:`changed_elsewhere`)."""
        async with self._conn() as conn:
            try:
                async with conn.transaction():
                    await conn.fetchval("SELECT nextval('ledger_changes')")
                    self._own_changes += 1
                    yield conn
            except HubError:
                raise
            except asyncpg.PostgresError as exc:
                raise HubError(f"{what} failed, nothing was written: {exc}") from None

    async def open(self, create: bool = False) -> None:
        """Connect; with ``create`` migrate the schema forward, else require it current."""
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self.pool_size, timeout=10.0,
                server_settings={"application_name": "shieldwall-hub"}, init=_setup,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise HubError(f"cannot reach the database at {redacted(self.url)}: {exc}") from None
        async with self._conn() as conn:
            await (migrate(conn) if create else require_current(conn))
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('ledger_id', md5(random()::text))"
                " ON CONFLICT (key) DO NOTHING"
            )

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def check_integrity(self) -> None:
        """The schema is current and the log still reaches the head announced to members.

        The announced head is kept in the database (``meta``), so this catches rows lost
        from the log, not a restore of the whole database from an older backup.
        """
        async with self._conn() as conn:
            await require_current(conn)
            marked = await conn.fetchval("SELECT value FROM meta WHERE key = 'announced_head'")
            head = await decision_log.head(conn)
        if marked is not None and head < int(marked):
            raise HubError(
                f"the ledger's decision log ends at cursor {head}, but the hub already announced"
                f" cursor {marked} to members: {int(marked) - head} decisions were lost. Serving"
                " would reuse cursors members already hold; restore the database from a backup"
            )

    async def mark_head(self, head: int) -> None:
        """Record the highest cursor announced to members (never lowered)."""
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('announced_head', $1) ON CONFLICT (key)"
                " DO UPDATE SET value = GREATEST(meta.value::bigint, EXCLUDED.value::bigint)::text",
                str(head),
            )

    async def probe(self, now: float) -> None:
        """A one-row durable write: raises when the database refuses writes."""
        async with self._writing("the ledger probe") as conn:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('probe', $1) ON CONFLICT (key)"
                " DO UPDATE SET value = EXCLUDED.value", repr(now),
            )

    async def expire(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` signals (and batches) received before ``before``."""
        async with self._writing("retention sweep") as conn:
            return await signals.expire(conn, before, limit)


    async def changed_elsewhere(self) -> bool:
        """Whether another process or replica wrote since the last call (first call: False)."""
        async with self._conn() as conn:
            value = int(await conn.fetchval(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ledger_changes"
            ))
        changed = self._seen_changes is not None and value > self._seen_changes + self._own_changes
        self._seen_changes, self._own_changes = value, 0
        return changed

    # -- membership ----------------------------------------------------------------------
    async def add_invite(self, invite: InviteRecord) -> None:
        """Store a one-time join secret."""
        async with self._writing("storing the invite") as conn:
            await membership.add_invite(conn, invite)

    async def invite(self, secret_hash: str) -> InviteRecord | None:
        """The invite stored under ``secret_hash``."""
        async with self._conn() as conn:
            return await membership.invite(conn, secret_hash)

    async def redeem_invite(
        self, secret_hash: str, member: MemberRecord, now: float
    ) -> MemberRecord:
        """Consume the invite and insert the member in one transaction."""
        async with self._writing("joining") as conn:
            return await membership.redeem(conn, secret_hash, member, now)

    async def revoke_member(self, name: str, why: str, now: float) -> MemberRecord:
        """Revoke ``name``'s key: whatever it signs afterwards is rejected."""
        async with self._writing("revoking the member") as conn:
            return await membership.revoke(conn, name, why, now)

    async def members(self) -> list[MemberRecord]:
        """Every member by name."""
        async with self._conn() as conn:
            return await membership.members(conn)

    async def declare_proxies(self, name: str, proxies: Sequence[str], now: float) -> None:
        """Replace ``name``'s declared reverse proxies (hub/proxies.py); empty withdraws them."""
        async with self._writing("storing the declared proxies") as conn:
            await membership.declare_proxies(conn, name, proxies, now)

    async def declared_proxies(self) -> dict[str, tuple[str, ...]]:
        """member -> its declared reverse proxies."""
        async with self._conn() as conn:
            return await membership.declared_proxies(conn)

    async def member_by_key(self, key_id: str) -> MemberRecord | None:
        """The member owning ``key_id``, revoked or not."""
        async with self._conn() as conn:
            return await membership.by_key(conn, key_id)

    # -- signals and decisions ---------------------------------------------------------
    async def last_seqs(self) -> dict[str, int]:
        """member -> highest applied sequence number (members' column survives retention)."""
        async with self._conn() as conn:
            return await signals.last_seqs(conn)

    async def batch_digest(self, member: str, seq: int) -> str | None:
        """The digest stored for ``(member, seq)``."""
        async with self._conn() as conn:
            return await signals.batch_digest(conn, member, seq)

    async def write(self, group: WriteGroup) -> list[int]:
        """One transaction; decisions and batches only under this replica's current epoch.

        Batches are fenced too: a deposed leader's batch (and the signals the policy
        counted in it) must not land beside the new leader's, which did not count them.
        """
        decides = bool(group.decisions or group.batches)
        if decides and self.epoch is None:
            raise decision_log.FencedError(
                "this replica does not lead, so it cannot append decisions or apply batches;"
                " nothing was written"
            )
        async with self._writing("ledger write") as conn:
            cursors = (
                await decision_log.append(conn, self.epoch, group.decisions)
                if decides and self.epoch is not None else []
            )
            await signals.append(conn, group, cursors)
            await membership.apply_counts(conn, group)
            await journal.append(conn, group.journal)
        return cursors

    async def decisions_after(self, cursor: int, limit: int) -> list[Decision]:
        """The log after ``cursor``, at most ``limit`` entries."""
        async with self._conn() as conn:
            return await decision_log.after(conn, cursor, limit)

    async def head(self) -> int:
        """The highest cursor in the log (0 for an empty log)."""
        async with self._conn() as conn:
            return await decision_log.head(conn)

    async def decisions_for(self, targets: Sequence[str]) -> list[StoredDecision]:
        """All decisions on ``targets``, in cursor order."""
        async with self._conn() as conn:
            return await decision_log.on_targets(conn, targets)

    async def signals_for(self, targets: Sequence[str], limit: int) -> list[StoredSignal]:
        """The latest signals on ``targets``, newest first."""
        async with self._conn() as conn:
            return await signals.signals_for(conn, targets, limit)

    async def policy_rows(self, query: ViewQuery) -> PolicyRows:
        """Recent decisions, charges and quorum-relevant signals, as the policy asks."""
        async with self._conn() as conn:
            return await signals.policy_rows(conn, query)

    async def recent_volume(self, since: float) -> dict[str, int]:
        """member -> signals in batches received after ``since``."""
        async with self._conn() as conn:
            return await signals.recent_volume(conn, since)

    async def decisions_before(
        self, before: int, limit: int, *, scenario: str = "", member: str = "",
        since: float = 0.0,
    ) -> list[Decision]:
        """Newest first, below ``before`` (pages of the dashboard)."""
        async with self._conn() as conn:
            return await decision_log.before(conn, before, limit, scenario, member, since)

    # -- the institutions' journal -------------------------------------------------
    async def journal_append(self, entries: Sequence[JournalEntry]) -> list[int]:
        """One transaction; returns the new entries' ids in order."""
        if not entries:
            return []
        async with self._writing("journal write") as conn:
            return await journal.append(conn, entries)

    async def journal_note(self, entries: Sequence[JournalEntry]) -> list[int]:
        """As :meth:`journal_append`, for records that are no policy input (drill stages):
        not counted as a change, so the leader does not rebuild its policy for each."""
        if not entries:
            return []
        async with self._conn() as conn, conn.transaction():
            return await journal.append(conn, entries)

    async def journal(
        self, kind: str, *, key: str | None = None, after: int = 0, limit: int = 1000,
        newest_first: bool = False,
    ) -> list[StoredJournalEntry]:
        """Entries of ``kind`` (and ``key``) with an id above ``after``."""
        async with self._conn() as conn:
            return await journal.read(conn, kind, key, after, limit, newest_first)

    # -- the shared readiness roster (not policy input: no change counted) --------------
    async def roster_put(self, entries: Sequence[roster.Row]) -> None:
        """Upsert members' latest roster entries (see :mod:`.roster`)."""
        async with self._conn() as conn:
            await roster.put(conn, entries)

    async def roster_since(self, seen: float) -> list[roster.Row]:
        """Roster rows heard after ``seen``."""
        async with self._conn() as conn:
            return await roster.since(conn, seen)

    async def carry_out(self, record: JournalEntry, change: MemberChange) -> bool:
        """Under this replica's epoch (fenced as a decision is): the act's change and its
        record in one transaction, unless its record is there already.

        A leader deposed between reading the journal and carrying an act out is refused
        here (the new leader's epoch has begun), so the act is carried out once, by the
        new leader, whichever of the two gets here first.
        """
        epoch = self.epoch
        if epoch is None:
            raise decision_log.FencedError(
                "this replica does not lead, so it cannot carry out council acts; nothing was"
                " written"
            )
        async with self._writing("carrying out the council act") as conn:
            await decision_log.fence(conn, epoch)
            if await journal.exists(conn, record.kind, record.key):
                return False
            await membership.change(conn, change, record.at)
            await journal.append(conn, [record])
        return True


if TYPE_CHECKING:
    from shieldwall.hub.ledger.storage import Ledger

    #: mypy checks here that this backend implements the whole protocol.
    _IMPLEMENTS: type[Ledger] = PostgresLedger
