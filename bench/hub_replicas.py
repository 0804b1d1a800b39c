"""Hub replicas on PostgreSQL beside the single SQLite hub, in one run, with ratios.

Every hub here is real ``shieldwall hub serve`` processes on loopback: one SQLite
hub (synchronous=FULL), and replicas sharing one private PostgreSQL cluster
(Debian's initdb, fsync and synchronous_commit on). Members are real members
(joined, signing every batch); trust rules are off on both so that the same
policy work is done. Measured, on each side:

1. durable signals/s: M members send batches of B signals back to back, spread
   over the replicas (on PostgreSQL, half of them reach a follower, which relays
   to the leader and answers once the leader's commit is durable);
2. append -> stream: one member sends one detection per round; latency from the
   send to its decision arriving on every open stream (streams spread over the
   replicas: 3 replicas x 16 streams, then 100 and 1,000 followers over 2).

Prints figures only; asserts nothing. Run: python bench/hub_replicas.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the private cluster and replica processes are the tests'

from tests.integration.hub_harness import free_port  # noqa: E402
from tests.integration.hub_processes import ReplicaSet, without_trust  # noqa: E402
from tests.integration.pg_cluster import running_cluster  # noqa: E402

from shieldwall.decisions.follow import DecisionFollower  # noqa: E402
from shieldwall.hub.config import HubConfig, load_hub_config  # noqa: E402
from shieldwall.hub.create import invite  # noqa: E402
from shieldwall.signals.client import HubClient, join  # noqa: E402
from shieldwall.signals.member_state import MemberState  # noqa: E402
from shieldwall.signals.signal import Signal  # noqa: E402


def target(member: int, n: int) -> str:
    value = (member << 20) + n
    return f"{45 + (value >> 24) % 50}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


@contextmanager
def hub(root: Path, replicas: int, database: str = "") -> Iterator[tuple[HubConfig, ReplicaSet]]:
    data = root / ("pg" if database else "sqlite")
    extra = ["--database", database] if database else []
    subprocess.run([sys.executable, "-m", "shieldwall.cli.main", "hub", "init", "--data",
                    str(data), "--listen", f"127.0.0.1:{free_port()}", *extra],
                   check=True, stdout=subprocess.DEVNULL)
    with (data / "hub.toml").open("a") as toml:
        toml.write("signals_per_hour = 1000000000\nstreams_per_member = 64\n")
    config = without_trust(load_hub_config(data))
    replica_set = ReplicaSet(config)
    try:
        replica_set.start(config.listen)
        for _ in range(replicas - 1):
            replica_set.start(f"127.0.0.1:{free_port()}")
        yield config, replica_set
    finally:
        replica_set.stop()


async def members(config: HubConfig, root: Path, prefix: str, count: int,
                  listens: list[str]) -> list[MemberState]:
    out = []
    for i in range(count):
        token = await invite(config, f"{prefix}{i}", 3600.0, time.time())
        state = await join(token, root / f"{config.data_dir.name}-{prefix}{i}")
        out.append(dataclasses.replace(state, hub=listens[i % len(listens)], replicas=()))
    return out


async def throughput(states: list[MemberState], batch: int, seconds: float) -> float:
    sent = [0]
    deadline = time.perf_counter() + seconds

    async def run(index: int, state: MemberState) -> None:
        async with HubClient(state, timeout=60.0) as client:
            n = 0
            while time.perf_counter() < deadline:
                signals = [Signal(kind="detection", target=target(index, n + i),
                                  scenario="ssh-bruteforce", count=6) for i in range(batch)]
                n += batch
                ack = await client.send(signals)  # (not `sent[0] += await`: it reads first)
                sent[0] += ack.signals

    start = time.perf_counter()
    await asyncio.gather(*(run(i, s) for i, s in enumerate(states)))
    return sent[0] / (time.perf_counter() - start)


async def fanout(
    sender: MemberState, followers: list[MemberState], rounds: int, first: int
) -> list[float]:
    arrivals: dict[int, list[float]] = {}
    opened = [0]
    async with DecisionFollower(sender) as probe:
        head = (await probe.page(0, 1)).head

    async def one(state: MemberState) -> None:
        async with DecisionFollower(state, after=head) as follower:
            opened[0] += 1
            async for decision in follower:
                arrivals.setdefault(decision.cursor, []).append(time.perf_counter())

    tasks = [asyncio.create_task(one(s)) for s in followers]
    while opened[0] < len(followers):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    latencies: list[float] = []
    async with HubClient(sender) as client:
        for r in range(rounds):
            t0 = time.perf_counter()
            ack = await client.send([Signal(kind="detection", target=target(200, first + r),
                                            scenario="ssh-bruteforce", count=6)])
            (cursor,) = ack.decisions
            for _ in range(1000):
                if len(arrivals.get(cursor, [])) >= len(followers):
                    break
                await asyncio.sleep(0.002)
            got = arrivals.get(cursor, [])
            if len(got) < len(followers):
                print(f"  round {r}: {len(followers) - len(got)} streams missed {cursor} in 2 s")
            latencies += [(t - t0) * 1000 for t in got]
            await asyncio.sleep(0.02)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return sorted(latencies)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantiles(ms: list[float]) -> str:
    return f"p50 {statistics.median(ms):6.1f} ms  p99 {ms[int(len(ms) * 0.99)]:6.1f} ms"


async def side(root: Path, args: argparse.Namespace, database: str) -> dict[str, object]:
    figures: dict[str, object] = {}
    replicas = 3 if database else 1
    with hub(root, replicas, database) as (config, replica_set):
        listens = [r.listen for r in replica_set.replicas]
        two = listens[:2]
        cases = (("3 x 16 streams", 48, listens), ("100 followers / 2", 100, two),
                 (f"{args.many} followers / 2", args.many, two))
        # Everyone joins first, while the hub is idle (a join is a TLS handshake or two).
        senders = await members(config, root, "s", args.members, two)
        reporter = (await members(config, root, "r", 1, two[-1:]))[0]
        followers = {label: await members(config, root, f"f{count}-", max(1, count // 50), spread)
                     for label, count, spread in cases}
        pids = [r.process.pid for r in replica_set.replicas]
        cpu, sent = sum(map(cpu_seconds, pids)), time.perf_counter()
        rate = figures["signals/s"] = await throughput(senders, args.batch, args.seconds)
        # CPU the hub processes spent per 1,000 acknowledged signals: a figure that a
        # shared machine's load disturbs far less than the rate itself.
        signals = rate * (time.perf_counter() - sent)
        figures["cpu ms/1000"] = (sum(map(cpu_seconds, pids)) - cpu) / signals * 1e6
        for case, (label, count, spread) in enumerate(cases):
            states = followers[label]
            streams = [dataclasses.replace(states[i % len(states)], hub=spread[i % len(spread)])
                       for i in range(count)]
            figures[label] = await fanout(reporter, streams, args.rounds, case * 10_000)
    return figures


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp, \
            running_cluster(fsync=True) as cluster:
        root = Path(tmp)
        lite = await side(root, args, "")
        pg = await side(root, args, cluster.new_database())
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
          " (2 cores; the goals assume a quiet machine)")
    print(f"durable signals/s ({args.members} members, batches of {args.batch}, {args.seconds:g} s):")
    print(f"  SQLite, 1 hub:            {lite['signals/s']:>10,.0f}   (goal >= 100,000);"
          f" hub CPU {lite['cpu ms/1000']:.1f} ms per 1,000 signals")
    print(f"  PostgreSQL, 2 replicas:   {pg['signals/s']:>10,.0f}   (goal >= 50,000);"
          f" replicas' CPU {pg['cpu ms/1000']:.1f} ms per 1,000 signals (PostgreSQL's not counted)")
    print(f"  ratio PostgreSQL/SQLite:  {pg['signals/s'] / lite['signals/s']:.2f}x")  # type: ignore[operator]
    print(f"send -> decision on every stream ({args.rounds} rounds; SQLite: the same streams,"
          " all on its one hub):")
    for label, goal in (("3 x 16 streams", 50), ("100 followers / 2", 200),
                        (f"{args.many} followers / 2", 300)):
        a, b = lite[label], pg[label]
        assert isinstance(a, list) and isinstance(b, list)
        print(f"  {label:20} SQLite {quantiles(a)} | PostgreSQL {quantiles(b)}"
              f" | p99 ratio {b[int(len(b) * 0.99)] / max(a[int(len(a) * 0.99)], 1e-3):.2f}x"
              f" (goal p99 <= {goal} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--many", type=int, default=1000, help="followers in the last case")
    parser.add_argument("--quick", action="store_true", help="small figures, to try it out")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.seconds, parsed.rounds, parsed.many = 2.0, 5, 200
    asyncio.run(main(parsed))
