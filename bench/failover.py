"""Failover benchmark: propagation while the replica a member follows is killed.

Two real ``shieldwall hub serve`` replica processes on one private PostgreSQL
cluster (tests/integration/pg_cluster.py), a member sending one signal every
``--interval`` seconds through its HubClient (like an agent's outbox: a send that
fails waits and goes to the next replica), and another member's DecisionFollower.
After ``--before`` signals the replica the follower is on is killed with SIGKILL:

- ``follower``: a replica that does not lead (only the members move);
- ``leader``: the replica that leads (the members move and a follower must take over).

    latency(cursor) = time the follower received it - time its signal was due

Prints the steady latency before the kill (p50/p99), the worst latency after it, the
outage (kill -> first decision received again) and whether the cursors the follower
received are exactly 1..head, once each. Asserts nothing.

Run: python bench/failover.py [--before 100] [--after 200] [--interval 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the private cluster and replica processes are the tests'

from shieldwall.decisions.follow import DecisionFollower  # noqa: E402
from shieldwall.errors import HubError  # noqa: E402
from shieldwall.hub.create import invite  # noqa: E402
from shieldwall.signals.client import HubClient, join  # noqa: E402
from shieldwall.signals.signal import Signal  # noqa: E402


def brute(target: str) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6,
                  evidence=(f"Failed password for root from {target} port 22 ssh2",))


async def case(dsn: str, folder: Path, victim_role: str, args: argparse.Namespace) -> dict[str, float]:
    from tests.integration.hub_harness import free_port, init_hub
    from tests.integration.hub_processes import replica_set

    config = await asyncio.to_thread(init_hub, folder / "hub", "--database", dsn)
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with replica_set(config, listens) as replicas:  # blocking start, before any task runs
        leader = replicas.leader()
        assert leader is not None
        victim = leader if victim_role == "leader" else next(
            r for r in replicas.replicas if r is not leader)
        order = [victim.listen] + [r.listen for r in replicas.replicas if r is not victim]
        config = dataclasses.replace(config, public_addresses=tuple(order))
        alice = await join(await invite(config, "alice", 3600, time.time()), folder / "alice")
        bob = await join(await invite(config, "bob", 3600, time.time()), folder / "bob")
        received: dict[int, float] = {}
        due: dict[int, float] = {}
        sent_after: set[int] = set()  # cursors of signals sent from the kill on
        total = args.before + args.after

        async def follow() -> None:
            async with DecisionFollower(alice) as follower:
                async for decision in follower:
                    if decision.cursor in received:
                        received[-decision.cursor] = 1.0  # a repeat: counted below
                    received[decision.cursor] = time.time()

        following = asyncio.create_task(follow())
        killed_at = 0.0
        start = time.time()
        async with HubClient(bob) as client:
            for i in range(total):
                if i == args.before:
                    killed_at = time.time()
                    victim.kill()
                when = start + i * args.interval
                await asyncio.sleep(max(0.0, when - time.time()))
                while True:
                    try:
                        ack = await client.send([brute(f"45.{13 + i // 60000}.{i // 250 % 240}"
                                                       f".{1 + i % 250}")])
                        break
                    except HubError:
                        await asyncio.sleep(0.2)
                for cursor in ack.decisions:
                    due[cursor] = when
                    if i >= args.before:
                        sent_after.add(cursor)
        deadline = time.monotonic() + 120
        while not all(c in received for c in due) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
    cursors = sorted(c for c in received if c > 0)
    repeats = sum(1 for c in received if c < 0)
    before = [received[c] - due[c] for c in cursors if c not in sent_after]
    after = [received[c] - due[c] for c in cursors if c in sent_after]
    resumed = min(t for c, t in received.items() if c > 0 and t > killed_at)
    return {
        "p50": statistics.median(before), "p99": statistics.quantiles(before, n=100)[98],
        "worst_after": max(after), "outage": resumed - killed_at,
        "contiguous": float(cursors == list(range(1, max(cursors) + 1)) and repeats == 0),
        "head": float(max(cursors)),
    }


async def main(args: argparse.Namespace) -> None:
    from tests.integration.pg_cluster import running_cluster

    print(f"2 replicas on PostgreSQL, 1 sender every {args.interval * 1000:.0f} ms, 1 follower;"
          f" SIGKILL after {args.before} signals, {args.after} more after")
    print(f"{'killed':<9} {'steady p50 ms':>13} {'p99 ms':>8} {'worst after ms':>15}"
          f" {'outage ms':>10} {'worst/p99':>10}  head  1..head once")
    with running_cluster() as cluster:
        for role in ("follower", "leader"):
            with tempfile.TemporaryDirectory() as folder:
                r = await case(cluster.new_database(), Path(folder), role, args)
            print(f"{role:<9} {r['p50'] * 1000:>13.1f} {r['p99'] * 1000:>8.1f}"
                  f" {r['worst_after'] * 1000:>15.1f} {r['outage'] * 1000:>10.1f}"
                  f" {r['worst_after'] / r['p99']:>10.1f}  {r['head']:.0f}"
                  f"  {'yes' if r['contiguous'] else 'NO'}")
    print("peer: one hub on SQLite has no other replica; its members wait until it restarts")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=int, default=100)
    parser.add_argument("--after", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.1)
    asyncio.run(main(parser.parse_args()))
