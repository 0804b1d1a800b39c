"""A hub replica on PostgreSQL: the same handlers, whether this replica leads or not.

:class:`ReplicaDesk` is what the hub's handlers call instead of a bare
:class:`~shieldwall.hub.writer.Writer` when the ledger is PostgreSQL. It stands
for election (:class:`~shieldwall.hub.ledger.postgres.replica.Replica`) and:

* while it leads, runs the one :class:`~shieldwall.hub.writer.Writer` (rebuilt
  from the ledger at every new epoch, so it starts from what the last leader
  committed), the :class:`~shieldwall.hub.pump.Pump` that feeds it what the
  other replicas took, and the operators' lifts (:mod:`shieldwall.hub.operator_relay`);
  envelopes sent here go straight to the writer;
* while it follows, relays envelopes to the leader (:class:`~shieldwall.hub.relay.Relay`)
  and answers with the leader's answer once committed;
* always serves the decision stream from its own feed, fed by the LISTEN/NOTIFY
  tail that confirms every notification by reading the log (the leader's writer
  publishes its own decisions at once too; the feed drops what it already has).

Stream cursors and rejection counts noted here are written by the writer while
leading, else every second on the relay's behalf (they are not policy input, so
they do not make the leader rebuild its memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from shieldwall.agent.supervise import Supervisor
from shieldwall.decisions.decision import Decision
from shieldwall.decisions.feed import Feed
from shieldwall.errors import HubError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.postgres import decision_log, inbox, membership
from shieldwall.hub.ledger.postgres.lease import LeaseTimes, Role
from shieldwall.hub.ledger.postgres.replica import Replica
from shieldwall.hub.ledger.postgres.schema import applied_versions
from shieldwall.hub.ledger.storage import WriteGroup
from shieldwall.hub.metrics import HubMetrics
from shieldwall.hub.operator_relay import LiftDesk
from shieldwall.hub.policy_view import build_policy
from shieldwall.hub.pump import Pump
from shieldwall.hub.relay import Relay
from shieldwall.hub.writer import Writer
from shieldwall.signals.envelope import Ack, OpenedEnvelope

if TYPE_CHECKING:
    from shieldwall.hub.api import HubContext
    from shieldwall.hub.governance_council import HubCouncil
    from shieldwall.hub.policy_config import PolicyConfig
    from shieldwall.hub.protections import Protections

log = logging.getLogger("shieldwall.hub")

#: Seconds between writes of a follower's noted cursors and member departures checks.
NOTES_EVERY = 1.0


class ReplicaDesk:
    """The writer's interface on a PostgreSQL replica named ``name``."""

    def __init__(
        self, config: HubConfig, name: str, feed: Feed, metrics: HubMetrics,
        clock: Callable[[], float] = time.time, times: LeaseTimes | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.feed = feed
        self.metrics = metrics
        self.clock = clock
        self.replica = Replica(config.database, name, self._deliver, times=times)
        self.ledger = self.replica.ledger
        self.relay = Relay(config.database, name, clock)
        self.writer: Writer | None = None
        self._writer_epoch = 0
        self._pump: Pump | None = None
        self._supervisor = Supervisor(backoff=(0.2, 5.0))
        self._active: dict[str, float] = {}
        self._cursors: dict[str, tuple[int, float]] = {}
        self._rejected: dict[str, int] = {}
        self._last_probe = 0.0
        self._probe_problem: str | None = None
        self._status_read = -1.0
        self._figures: tuple[int, int, int, tuple[int, str]] = (0, 0, 0, (0, ""))
        #: Members whose reports do not count now (the readiness roster sets it, as on a
        #: bare Writer); handed to the writer of every leadership.
        self.discounted: Callable[[], frozenset[str]] = frozenset
        self._governed: HubCouncil | None = None
        # What a join or the council changed while no writer ran: a leader's writer reads
        # the ledger and files as it starts, so a change landing between that read and
        # ``self.writer`` being set would otherwise never reach it.
        self._members_moved = False
        self._policy_moved: tuple[PolicyConfig, Protections] | None = None
        # Under a council no writer runs before the council gates it (hub.governance_council).
        self._attached = asyncio.Event()
        if config.council_dir is None:
            self._attached.set()

    @property
    def governed(self) -> HubCouncil | None:
        """The council gating and stamping this replica's decisions (its every writer)."""
        return self._governed

    @governed.setter
    def governed(self, council: HubCouncil | None) -> None:
        self._governed = council
        if self.writer is not None:
            self.writer.governed = council
        self._attached.set()

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        """Connect (refusing a schema this Shieldwall does not ship) and load the state."""
        await self.replica.open()
        await self.ledger.check_integrity()
        head = await self.ledger.head()
        await self.feed.start(head)
        self.replica.tail.cursor = head
        policy = await build_policy(self.ledger, self.config.policy(), self.config.protections(),
                                    self.clock())
        self._active = {t: b.until for t, b in policy.active.items()}

    def start(self) -> None:
        """Stand for election, follow the log and relay, as supervised tasks."""
        self.replica.start(self._supervisor)
        self._supervisor.start("leadership", self._conduct)
        self._supervisor.start("relay", self.relay.run)
        self._supervisor.start("notes", self._notes)

    async def stop(self) -> None:
        """Stop leading (at once: another replica need not wait) and close."""
        await self._supervisor.stop()
        await self._step_down()
        await self.replica.close()

    async def _conduct(self) -> None:
        elector = self.replica.elector
        while True:
            epoch = self.ledger.epoch
            if epoch is not None and epoch != self._writer_epoch:
                await self._step_down()
                await self._lead(epoch)
            elif epoch is None and self.writer is not None:
                await self._step_down()
            elector.changed.clear()
            if self.ledger.epoch == epoch:
                await elector.changed.wait()

    async def _lead(self, epoch: int) -> None:
        config = self.config
        await self._attached.wait()
        self._members_moved, self._policy_moved = False, None
        writer = Writer(
            self.ledger, config.policy(), config.protections(), self.feed, self.metrics,
            self.clock, signals_per_hour=config.signals_per_hour, retention=config.retention,
            operators=frozenset(config.operators),
        )
        writer.discounted = lambda: self.discounted()
        writer.governed = self._governed
        await writer.start()
        self.writer, self._writer_epoch = writer, epoch
        if self._members_moved:
            writer.membership_changed()
        if self._policy_moved is not None:
            writer.replace_policy(*self._policy_moved)
        self._pump = Pump(config.database, writer, self.clock)
        self._supervisor.start("pump", self._pump.run)
        self._supervisor.start("lifts", LiftDesk(config, epoch, self.clock).run)
        log.info("replica %s leads (epoch %d): deciding for the alliance", self.name, epoch)

    async def _step_down(self) -> None:
        for name in ("pump", "lifts"):
            task = self._supervisor.tasks.pop(name, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._pump = None
        writer, self.writer, self._writer_epoch = self.writer, None, 0
        if writer is not None:
            await writer.stop()

    # -- what the handlers call ----------------------------------------------------------
    async def submit(self, opened: OpenedEnvelope) -> Ack:
        """Decide on ``opened`` here when leading, else through the leader; once durable."""
        writer = self.writer
        if writer is not None:
            return await writer.submit(opened)
        if self._governed is not None and (problem := self._governed.problem()) is not None:
            raise HubError(f"the hub refuses to decide: {problem}")  # as the leader's writer
        return await self.relay.submit(opened)

    def note_cursor(self, member: str, cursor: int, now: float) -> None:
        """Remember where a member's stream stands."""
        if self.writer is not None:
            self.writer.note_cursor(member, cursor, now)
        else:
            self._cursors[member] = (cursor, now)

    def note_rejection(self, member: str) -> None:
        """Count a rejected envelope against an authenticated member."""
        if self.writer is not None:
            self.writer.note_rejection(member)
        else:
            self._rejected[member] = self._rejected.get(member, 0) + 1

    def replace_policy(self, config: PolicyConfig, base: Protections) -> None:
        """The council's files changed: the leader's writer runs them (a new leader reads them)."""
        if self.writer is not None:
            self.writer.replace_policy(config, base)
        else:
            self._policy_moved = (config, base)

    def membership_changed(self) -> None:
        """A member joined or left through this replica (the leader sees the write)."""
        if self.writer is not None:
            self.writer.membership_changed()
        else:
            self._members_moved = True

    def over_quota(self, member: str) -> str | None:
        """The leader's quota answer before the body; a follower leaves it to the leader."""
        return None if self.writer is None else self.writer.over_quota(member)

    def active_targets(self) -> list[str]:
        """Targets blocked now, as the decision log says."""
        now = self.clock()
        return [t for t, until in self._active.items() if until > now]

    async def readiness(self) -> str | None:
        """Why this replica cannot take envelopes now, or None."""
        if self.writer is not None:
            return await self.writer.readiness()
        if self._governed is not None and (problem := self._governed.problem()) is not None:
            return f"the hub refuses to decide: {problem}"
        now = time.monotonic()
        if now - self._last_probe >= 1.0:
            self._last_probe = now
            try:
                await self.ledger.head()
            except HubError as exc:
                self._probe_problem = str(exc)
            else:
                self._probe_problem = None
        return self._probe_problem

    async def status(self) -> dict[str, Any]:
        """``/readyz`` details: role, epoch, schema version, how far behind the log.

        The database figures are read at most once a second, however often the
        (unauthenticated) endpoint is asked.
        """
        status = self.replica.status()
        now = time.monotonic()
        if now - self._status_read >= 1.0:
            async with _connection(self.config.database) as conn:
                self._figures = (max(await applied_versions(conn), default=0),
                                 await decision_log.head(conn), await inbox.backlog(conn),
                                 await decision_log.current_epoch(conn))
            self._status_read = now
        schema, head, waiting, (leader_epoch, leader) = self._figures
        # "epoch" is this replica's own (0 while it follows); "leader" and "leader_epoch"
        # are the database's, so a follower's answer names who decides now.
        return {
            "replica": self.name, "role": str(status.role), "epoch": status.epoch,
            "leader": leader, "leader_epoch": leader_epoch,
            "schema": schema, "head": head, "lag": max(0, head - self.feed.head),
            "relay_backlog": waiting, "listener_connects": status.connects,
        }

    # -- internals -----------------------------------------------------------------------
    async def _deliver(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            if decision.action == "block":
                self._active[decision.target] = decision.until
            else:
                self._active.pop(decision.target, None)
        await self.feed.publish(decisions)

    async def _notes(self) -> None:
        async with _connection(self.config.database) as conn:
            while True:
                await asyncio.sleep(NOTES_EVERY)
                cursors, self._cursors = self._cursors, {}
                rejected, self._rejected = self._rejected, {}
                if cursors or rejected:
                    async with conn.transaction():
                        await membership.apply_counts(
                            conn, WriteGroup(cursors=cursors, rejected=rejected)
                        )
                if self.writer is None:
                    gone = {str(r["name"]) for r in await conn.fetch(
                        "SELECT name FROM members WHERE revoked_at IS NOT NULL")}
                    if gone and self.feed.cut(gone):
                        log.info("ended the decision streams of departed members")


@contextlib.asynccontextmanager
async def _connection(dsn: str) -> Any:
    try:
        conn = await asyncpg.connect(dsn, timeout=5.0)
    except (OSError, asyncpg.PostgresError) as exc:
        raise HubError(f"the ledger database is unreachable: {exc}") from None
    try:
        yield conn
    finally:
        await conn.close()


def replica_name(listen: str) -> str:
    """A replica's default name in the election (host name and port: unique per machine)."""
    import socket

    return f"{socket.gethostname()}:{listen.rsplit(':', 1)[-1]}"


def is_leader(desk: ReplicaDesk) -> bool:
    """Whether the replica leads now (for tests and operators)."""
    return desk.replica.status().role is Role.LEADER and desk.writer is not None


@contextlib.asynccontextmanager
async def replica_context(
    config: HubConfig, metrics: HubMetrics, clock: Callable[[], float],
    times: LeaseTimes | None = None,
) -> AsyncIterator[HubContext]:
    """The handlers' shared state for one replica, from start to shutdown (the lifespan)."""
    from shieldwall.hub.api import HubContext
    from shieldwall.hub.body import BodyBudget
    from shieldwall.hub.identity import IDENTITY_FILE
    from shieldwall.signals.keys import public_key_of

    name = replica_name(config.listen)
    feed = Feed(lambda cursor, limit: desk.ledger.decisions_after(cursor, limit),
                page_size=config.page_size)
    desk = ReplicaDesk(config, name, feed, metrics, clock, times)
    try:
        await desk.open()
    except BaseException:
        await desk.replica.ledger.close()
        raise
    desk.start()
    seed = (config.data_dir / IDENTITY_FILE).read_bytes()
    try:
        yield HubContext(
            config=config, ledger=desk.ledger, writer=desk, feed=feed, metrics=metrics,
            hub_key=public_key_of(seed), clock=clock, budget=BodyBudget(config.body_budget),
        )
    finally:
        feed.close()
        await desk.stop()
