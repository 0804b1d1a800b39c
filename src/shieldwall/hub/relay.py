"""Envelopes taken by a follower replica reach the one leader's policy, and back.

Every replica accepts signals, but only the leader runs the policy (one decider,
one contiguous decision sequence). A follower :meth:`Relay.submit` s an envelope
it has authenticated and verified: the envelope is committed to the relay inbox
(:mod:`shieldwall.hub.ledger.postgres.inbox`) before anything is answered, the
leader's :class:`Pump` feeds it to the leader's :class:`~shieldwall.hub.writer.Writer`
exactly as if it had arrived there, writes the writer's answer beside it, and the
follower replies with that very answer: the member cannot tell which replica it
talked to. Both sides group many envelopes per statement.

If no leader answers within ``patience`` the member gets "retry"; the row stays,
a leader decides it later, and the member's retry of the same bytes is then a
``duplicate`` (the intake's idempotence), so nothing is lost or decided twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import msgspec

from shieldwall.addresses import parse_target
from shieldwall.errors import HubError, SignalError
from shieldwall.hub.ledger.postgres import inbox
from shieldwall.signals.envelope import Ack, OpenedEnvelope
from shieldwall.signals.signal import Signal

log = logging.getLogger("shieldwall.hub")


class RelayedEnvelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An opened envelope as the follower stores it (checked there; the leader trusts it)."""

    member: str
    key_id: str
    seq: int
    ts: float
    signals: tuple[Signal, ...]
    digest: str


class Answer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The leader's answer to one relayed envelope."""

    ack: Ack | None = None
    reason: str = ""
    detail: str = ""


def encode_envelope(opened: OpenedEnvelope) -> bytes:
    """What the follower stores for ``opened``."""
    return msgspec.msgpack.encode(RelayedEnvelope(
        opened.member, opened.key_id, opened.seq, opened.ts, opened.signals, opened.digest
    ))


def decode_envelope(body: bytes) -> OpenedEnvelope:
    """The opened envelope back (targets parsed again: the follower checked them)."""
    relayed = msgspec.msgpack.decode(body, type=RelayedEnvelope)
    return OpenedEnvelope(
        member=relayed.member, key_id=relayed.key_id, seq=relayed.seq, ts=relayed.ts,
        signals=relayed.signals, digest=relayed.digest,
        targets=tuple(parse_target(s.target) for s in relayed.signals),
    )


def encode_answer(outcome: Ack | Exception) -> bytes:
    """The stored form of the writer's outcome (an Ack, a SignalError, or "retry")."""
    if isinstance(outcome, Ack):
        return msgspec.msgpack.encode(Answer(ack=outcome))
    if isinstance(outcome, SignalError):
        return msgspec.msgpack.encode(Answer(reason=outcome.reason, detail=str(outcome)))
    return msgspec.msgpack.encode(Answer(reason="", detail=str(outcome)))


def decode_answer(data: bytes) -> Ack:
    """The Ack, or raise what the leader's writer raised (HubError means: retry)."""
    answer = msgspec.msgpack.decode(data, type=Answer)
    if answer.ack is not None:
        return answer.ack
    if answer.reason:
        raise SignalError(answer.reason, answer.detail)
    raise HubError(answer.detail or "the leader could not take the batch; retry")


@dataclass(slots=True)
class _Waiting:
    future: asyncio.Future[Ack]
    since: float


class Relay:
    """A follower's side: store envelopes for the leader and wait for its answers."""

    def __init__(
        self, dsn: str, replica: str, clock: Callable[[], float] = time.time,
        poll: float = 0.25, patience: float = 10.0, batch: int = 512,
    ) -> None:
        self.dsn = dsn
        self.replica = replica
        self.clock = clock
        self.poll = poll
        self.patience = patience
        self.batch = batch
        self._queue: asyncio.Queue[tuple[bytes, str, asyncio.Future[Ack]]] = asyncio.Queue()
        self._waiting: dict[int, _Waiting] = {}
        self._wake = asyncio.Event()
        #: Envelopes relayed, and answers that did not come within ``patience``.
        self.relayed = 0
        self.timeouts = 0

    async def submit(self, opened: OpenedEnvelope) -> Ack:
        """Store ``opened`` for the leader; return its answer (or raise SignalError/HubError)."""
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        await self._queue.put((encode_envelope(opened), opened.key_id, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        """Insert what is queued, collect answers; forever (under the hub's supervisor)."""
        conn = await asyncpg.connect(self.dsn, timeout=5.0,
                                     server_settings={"application_name": "shieldwall-relay"})
        try:
            # Woken by submissions and by the leader's NOTIFY of answers; the poll only
            # bounds a lost notification.
            await conn.add_listener(inbox.ANSWER_CHANNEL, lambda *_: self._wake.set())
            while True:
                await self._insert(conn)
                self._wake.clear()
                await self._collect(conn)
                if self._queue.empty():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.poll)
        finally:
            conn.terminate()
            self._fail_all(HubError("the replica lost its database connection; retry"))

    def _fail_all(self, error: HubError) -> None:
        for waiting in self._waiting.values():
            if not waiting.future.done():
                waiting.future.set_exception(error)
        self._waiting.clear()

    async def _insert(self, conn: asyncpg.Connection) -> None:
        items: list[tuple[bytes, str, asyncio.Future[Ack]]] = []
        while len(items) < self.batch and not self._queue.empty():
            items.append(self._queue.get_nowait())
        if not items:
            return
        try:
            ids = await inbox.put(conn, self.replica, [(k, b) for b, k, _ in items], self.clock())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            for _, _, future in items:
                if not future.done():
                    future.set_exception(HubError(f"could not store the batch, retry: {exc}"))
            raise
        now = time.monotonic()
        for row_id, (_, _, future) in zip(ids, items, strict=True):
            self._waiting[row_id] = _Waiting(future, now)
        self.relayed += len(items)

    async def _collect(self, conn: asyncpg.Connection) -> None:
        if not self._waiting:
            return
        for row_id, data in (await inbox.collect(conn, list(self._waiting))).items():
            waiting = self._waiting.pop(row_id)
            if waiting.future.done():
                continue
            try:
                waiting.future.set_result(decode_answer(data))
            except (SignalError, HubError) as exc:
                waiting.future.set_exception(exc)
        late = time.monotonic() - self.patience
        for row_id in [i for i, w in self._waiting.items() if w.since < late]:
            waiting = self._waiting.pop(row_id)
            self.timeouts += 1
            if not waiting.future.done():
                waiting.future.set_exception(HubError(
                    "the batch is stored but no leader decided it yet (an election may be"
                    " under way); send it again: if it was applied meanwhile it is a duplicate"
                ))

    @property
    def waiting(self) -> int:
        """Envelopes stored and not yet answered."""
        return len(self._waiting) + self._queue.qsize()
