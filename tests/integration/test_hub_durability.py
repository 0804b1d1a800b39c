"""SIGKILL the hub while members send: every acknowledged batch survives exactly once.

On both backends (SQLite; PostgreSQL with one replica). The hub runs as a real
`shieldwall hub serve` process; the test kills it with
SIGKILL (by the PID it started) in the middle of a stream of batches, starts it
again on the same data, and then checks the ledger and a follower's view.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shieldwall.decisions.decision import Decision
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.hub.config import HubConfig
from shieldwall.signals.client import HubClient
from shieldwall.signals.envelope import Ack
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import init_hub, ledger_of, new_member
from tests.integration.hub_processes import without_trust
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

BATCHES = 60
PER_BATCH = 15  # 900 decisions: under the default 1000-per-member-per-hour limit


def start_hub(config: HubConfig, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "shieldwall.cli.main", "hub", "serve", "--data",
             str(config.data_dir)],
            stdout=out, stderr=subprocess.STDOUT,
        )


async def wait_ready(config: HubConfig, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(verify=False) as client:
        for _ in range(200):
            if proc.poll() is not None:
                raise RuntimeError(f"hub exited with {proc.returncode}")
            try:
                if (await client.get(f"https://{config.listen}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("hub did not come up")


def batch(number: int) -> list[Signal]:
    # Distinct public targets, so each signal is one confirmed decision.
    return [
        Signal(kind="detection", target=f"45.{13 + number // 250}.{number % 250}.{i + 1}",
               scenario="ssh-bruteforce", count=6)
        for i in range(PER_BATCH)
    ]


cluster = pg_cluster_fixture()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    """The same hub on each backend (on PostgreSQL: one replica, which leads)."""
    # Trust rules off: one member makes 900 decisions here (with trust on, a member's
    # uncorroborated blocks are capped by the policy's solo_open); what is tested is
    # that none is lost or applied twice.
    if request.param == "postgresql":
        pg: PgCluster = request.getfixturevalue("cluster")
        return without_trust(init_hub(tmp_path / "hub", "--database", pg.new_database()))
    return without_trust(init_hub(tmp_path / "hub"))


async def test_sigkill_loses_no_acknowledged_batch_and_applies_none_twice(
    config: HubConfig, tmp_path: Path
) -> None:
    log = tmp_path / "hub.log"
    procs = [start_hub(config, log)]
    try:
        await wait_ready(config, procs[0])
        state = await new_member(config, tmp_path / "member", "alice")
        acks: list[Ack] = []
        seen: list[Decision] = []
        follower = DecisionFollower(state, backoff=(0.05, 0.5), heartbeat_timeout=5)

        async def follow() -> None:
            async for decision in follower:
                seen.append(decision)

        async def send() -> None:
            async with HubClient(state, attempts=40) as client:
                for number in range(BATCHES):
                    acks.append(await client.send(batch(number)))

        following = asyncio.create_task(follow())
        sending = asyncio.create_task(send())
        while len(acks) < BATCHES // 3:
            await asyncio.sleep(0.005)
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait()
        killed_after = len(acks)
        procs.append(start_hub(config, log))
        await wait_ready(config, procs[1])
        await asyncio.wait_for(sending, 120)
        expected = BATCHES * PER_BATCH
        for _ in range(400):
            if len(seen) >= expected:
                break
            await asyncio.sleep(0.05)
        following.cancel()
        await follower.aclose()

        async with ledger_of(config) as ledger:
            member = (await ledger.members())[0]
            head = await ledger.head()
            decisions = await ledger.decisions_after(0, expected + 10)
        assert killed_after < BATCHES, "the kill happened after everything was sent"
        assert len(acks) == BATCHES
        assert member.signals == expected  # every acknowledged signal, none twice
        assert head == expected and [d.cursor for d in decisions] == list(range(1, head + 1))
        assert len({d.target for d in decisions}) == expected
        assert [d.cursor for d in seen] == list(range(1, expected + 1))  # no gap, no duplicate
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


async def test_sigterm_ends_open_streams_cleanly(config: HubConfig, tmp_path: Path) -> None:
    log = tmp_path / "hub.log"
    proc = start_hub(config, log)
    try:
        await wait_ready(config, proc)
        state = await new_member(config, tmp_path / "member", "alice")
        async with DecisionFollower(state) as follower:
            following = asyncio.create_task(follower.stream().__anext__())
            await asyncio.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 20)
            following.cancel()
        text = log.read_text()
        assert "Application shutdown complete" in text
        assert "Traceback" not in text, text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
