"""Hub benchmark: durable signals accepted per second, and decision fan-out latency.

Starts a real hub (`shieldwall hub serve`, its own process) on loopback in a
temporary folder, then:

1. throughput: M members each send batches of B signed signals back to back;
   every batch counts only once the hub acknowledged it (durable in SQLite,
   synchronous=FULL, group commit). Prints signals/s, batches/s, and the
   commits the hub made (batches per fsync).
2. fan-out: 100 followers hold SSE streams open; one member sends a single
   confirmed detection; for each stream, latency = time the decision arrived on
   that stream minus the time the sender got its acknowledgement. Prints p50,
   p99 and max over all streams and rounds.

Prints figures only; asserts nothing. Run: python bench/hub_throughput.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from shieldwall.decisions.follow import DecisionFollower
from shieldwall.hub.admin import create_invite
from shieldwall.hub.config import load_hub_config
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.signal import Signal


def run_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "shieldwall.cli.main", *args], check=True,
                   stdout=subprocess.DEVNULL)


async def make_members(data: Path, count: int, prefix: str) -> list[MemberState]:
    config = load_hub_config(data / "hub")
    ledger = SQLiteLedger(config.ledger_path)
    await ledger.open()
    try:
        tokens = [await create_invite(ledger, config, f"{prefix}{i}", 3600, time.time())
                  for i in range(count)]
    finally:
        await ledger.close()
    return [await join(token, data / f"{prefix}{i}") for i, token in enumerate(tokens)]


def targets(member: int, start: int, count: int) -> list[str]:
    # Public-looking, distinct addresses (not reserved, not protected).
    out = []
    for n in range(start, start + count):
        value = (member << 20) + n
        out.append(f"{45 + (value >> 24) % 50}.{(value >> 16) & 255}.{(value >> 8) & 255}."
                   f"{value & 255}")
    return out


def cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def throughput(
    members: list[MemberState], batch: int, seconds: float, pool: int, hub_pid: int
) -> None:
    sent = [0] * len(members)
    attackers = targets(0, 0, pool) if pool else []
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def run(index: int, state: MemberState) -> None:
        async with HubClient(state) as client:
            n = 0
            while time.perf_counter() < deadline:
                if pool:  # repeat attackers: targets drawn from one shared pool
                    picks = [(n * 7919 + i * 104729) % pool for i in range(batch)]
                    chosen = [attackers[p] for p in picks]
                else:  # every target new
                    chosen = targets(index, n, batch)
                signals = [Signal(kind="detection", target=t, scenario="ssh-bruteforce", count=6)
                           for t in chosen]
                n += batch
                t0 = time.perf_counter()
                ack = await client.send(signals)
                latencies.append(time.perf_counter() - t0)
                sent[index] += ack.signals

    start = time.perf_counter()
    hub_cpu, own_cpu = cpu_seconds(hub_pid), time.process_time()
    await asyncio.gather(*(run(i, s) for i, s in enumerate(members)))
    elapsed = time.perf_counter() - start
    hub_cpu, own_cpu = cpu_seconds(hub_pid) - hub_cpu, time.process_time() - own_cpu
    total = sum(sent)
    latencies.sort()
    print(f"throughput: {len(members)} members x batches of {batch}: {total} durable signals"
          f" in {elapsed:.2f}s = {total / elapsed:,.0f} signals/s"
          f" ({len(latencies) / elapsed:,.0f} batches/s; ack latency p50"
          f" {latencies[len(latencies) // 2] * 1000:.1f} ms,"
          f" p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms)")
    print(f"  CPU: hub process {hub_cpu:.1f}s ({hub_cpu / elapsed:.0%} of one core),"
          f" benchmark clients {own_cpu:.1f}s; hub CPU per 1000 signals"
          f" {hub_cpu / total * 1e6:.1f} ms")


async def fanout(sender: MemberState, followers: list[MemberState], rounds: int) -> None:
    arrivals: dict[int, list[float]] = {}
    ready = asyncio.Event()
    connected = [0]

    # Start every follower from the current head: read it from a page.
    async with DecisionFollower(sender) as probe:
        head = (await probe.page(0, 1)).head
    tasks = []
    for state in followers:
        async def one(state: MemberState = state) -> None:
            async with DecisionFollower(state, after=head) as follower:
                connected[0] += 1
                if connected[0] == len(followers):
                    ready.set()
                async for decision in follower:
                    arrivals.setdefault(decision.cursor, []).append(time.perf_counter())
        tasks.append(asyncio.create_task(one()))
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(1.0)  # let every stream finish its handshake and backlog
    latencies: list[float] = []
    async with HubClient(sender) as client:
        for r in range(rounds):
            target = targets(999, r, 1)[0]
            ack = await client.send([Signal(kind="detection", target=target,
                                            scenario="ssh-bruteforce", count=6)])
            acked = time.perf_counter()
            cursor = ack.decisions[0]
            for _ in range(400):
                if len(arrivals.get(cursor, [])) >= len(followers):
                    break
                await asyncio.sleep(0.005)
            got = arrivals.get(cursor, [])
            latencies += [t - acked for t in got]
            missing = len(followers) - len(got)
            if missing:
                print(f"  round {r}: {missing} streams did not get decision {cursor} in 2s")
            await asyncio.sleep(0.02)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    latencies.sort()
    early = sum(1 for x in latencies if x <= 0) / max(1, len(latencies))
    # A decision that reached a stream before the sender saw its ack counts as 0 ms.
    ms = [max(0.0, x) * 1000 for x in latencies]
    print(f"fan-out: {len(followers)} SSE streams x {rounds} decisions: latency after ack"
          f" p50 {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99)]:.1f} ms,"
          f" max {ms[-1]:.1f} ms ({early:.0%} arrived before the sender saw its ack)")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp:
        data = Path(tmp)
        port = 20000 + os.getpid() % 20000
        run_cli("hub", "init", "--data", str(data / "hub"), "--listen", f"127.0.0.1:{port}")
        # Raw capacity: no member here is hostile, so lift the per-member signal quota.
        with (data / "hub" / "hub.toml").open("a") as toml:
            toml.write("signals_per_hour = 1000000000\n")
        if args.decisions_per_hour is not None:
            policy = data / "hub" / "policy.toml"
            policy.write_text(policy.read_text().replace(
                "member_decisions_per_hour = 1000",
                f"member_decisions_per_hour = {args.decisions_per_hour}"))
        hub = subprocess.Popen(
            [sys.executable, "-m", "shieldwall.cli.main", "hub", "serve", "--data",
             str(data / "hub")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            async with httpx.AsyncClient(verify=False) as probe:
                for _ in range(200):
                    try:
                        await probe.get(f"https://127.0.0.1:{port}/healthz")
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.05)
            senders = await make_members(data, args.members, "sender")
            mix = f"targets from a pool of {args.pool}" if args.pool else "every target new"
            print(f"mix: {mix}; member_decisions_per_hour ="
                  f" {args.decisions_per_hour or 1000}")
            await throughput(senders, args.batch, args.seconds, args.pool, hub.pid)
            followers = await make_members(data, args.streams, "follower")
            # A fresh sender: the throughput senders used up their decisions-per-hour limit.
            reporter = (await make_members(data, 1, "reporter"))[0]
            await fanout(reporter, followers, args.rounds)
            async with httpx.AsyncClient(verify=False) as probe:
                metrics = (await probe.get(f"https://127.0.0.1:{port}/metrics")).text
            for line in metrics.splitlines():
                if line.startswith(("shieldwall_ledger_", "shieldwall_members_connected",
                                    "shieldwall_signals_accepted")):
                    print("  " + line)
        finally:
            hub.terminate()
            hub.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=16,
                        help="concurrent members; each sends one batch at a time, in order")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--pool", type=int, default=0,
                        help="draw targets from this many attackers (0: every target new)")
    parser.add_argument("--decisions-per-hour", type=int, default=None,
                        help="override the per-member decision limit (default policy: 1000)")
    asyncio.run(main(parser.parse_args()))
