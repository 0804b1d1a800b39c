"""The relay end to end on real PostgreSQL: a follower's envelopes reach the leader's
writer in order and the follower gets the writer's very answers. The writer here is a
stand-in that records what it is given (the real one has its own tests and runs under
the relay in tests/integration/test_hub_replicas.py)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shieldwall.errors import SignalError
from shieldwall.hub.ledger.postgres.schema import initialise
from shieldwall.hub.pump import Pump
from shieldwall.hub.relay import Relay
from shieldwall.hub.writer import Writer
from shieldwall.signals.envelope import Ack, OpenedEnvelope
from shieldwall.signals.signal import Signal
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


class RecordingWriter:
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def submit(self, opened: OpenedEnvelope) -> Ack:
        self.seen.append(opened.seq)
        if opened.seq == 3:
            raise SignalError("replayed", "sequence number 3 is not above the last applied one")
        return Ack("applied", opened.seq, len(opened.signals), (opened.seq * 10,))


def envelope(seq: int) -> OpenedEnvelope:
    signal = Signal(kind="detection", target=f"45.13.7.{seq}", scenario="ssh-bruteforce")
    return OpenedEnvelope("alice", "k1", seq, 1.7e9, (signal,), f"{seq:064x}")


async def test_a_followers_envelopes_get_the_leaders_answers_in_order(cluster: PgCluster) -> None:
    dsn = cluster.new_database()
    await initialise(dsn)
    writer = RecordingWriter()
    relay = Relay(dsn, "follower")
    pump = Pump(dsn, writer)  # type: ignore[arg-type]  # the stand-in has submit() only
    assert isinstance(pump.writer, RecordingWriter) and not isinstance(pump.writer, Writer)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(pump.run())]
    try:
        results = await asyncio.wait_for(asyncio.gather(
            *(relay.submit(envelope(seq)) for seq in (1, 2, 3, 4)), return_exceptions=True), 10)
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks)
    assert writer.seen == [1, 2, 3, 4]
    assert [r.decisions if isinstance(r, Ack) else r.reason for r in results] == [  # type: ignore[attr-defined]
        (10,), (20,), "replayed", (40,)]
    assert relay.waiting == 0  # (pump.pumped may not be counted yet: answers wake first)
