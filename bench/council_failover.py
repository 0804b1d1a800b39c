"""Council on replicas: a member's verified decisions while the leader it follows is killed.

Side by side, on one private PostgreSQL cluster (tests/integration/pg_cluster.py): two
``shieldwall hub serve`` replica processes run plainly, then under a council (founded and
attached through the CLI, as tests/e2e/test_council_replicas.py does). One member sends a
signal every ``--interval`` seconds through its HubClient; another member's agent runtime
(its council gate verifying every decision against the replicas' signed checkpoints)
applies them. After ``--before`` signals the leader, which the agent follows, is killed
with SIGKILL.

    latency = time the agent's core applied the decision - time its signal was sent

Prints p50 latency before the kill, the outage (kill -> first decision applied after it),
the worst latency after it, whether the cursors applied are exactly 1..head, the ratios
council/plain and the load average. Asserts nothing.

Run: python bench/council_failover.py [--before 40] [--after 60] [--interval 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the private cluster, replica processes and alliance are the tests'

from tests.e2e.test_council import Alliance  # noqa: E402
from tests.integration.hub_harness import free_port, init_hub  # noqa: E402
from tests.integration.hub_processes import replica_set, without_trust  # noqa: E402
from tests.integration.pg_cluster import running_cluster  # noqa: E402
from tests.integration.test_agent_hub import Member  # noqa: E402

from shieldwall.agent.core import Command  # noqa: E402
from shieldwall.decisions.decision import Decision  # noqa: E402
from shieldwall.errors import HubError  # noqa: E402
from shieldwall.hub.config import HubConfig  # noqa: E402
from shieldwall.hub.create import invite  # noqa: E402
from shieldwall.signals.client import HubClient, join  # noqa: E402
from shieldwall.signals.signal import Signal  # noqa: E402


def brute(target: str) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6,
                  evidence=(f"Failed password for root from {target} port 22 ssh2",))


async def case(config: HubConfig, root: Path, args: argparse.Namespace) -> dict[str, float]:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with replica_set(config, listens) as replicas:
        leader = replicas.leader()
        assert leader is replicas.replicas[0]
        states = []
        for name in ("sender", "receiver"):
            token = await invite(config, name, 3600.0, time.time(), addresses=listens)
            states.append(await join(token, root / name))
        receiver = Member(root / "receiver", root / "receiver-auth.log")
        receiver.log.write_text("")
        runtime = receiver.runtime()
        applied: dict[int, float] = {}
        targets: dict[str, int] = {}
        core_decision = runtime.core.decision

        def decision(item: Decision, now: float) -> list[Command]:
            applied.setdefault(item.cursor, time.monotonic())
            if item.action == "block":
                targets.setdefault(item.target, item.cursor)
            return core_decision(item, now)

        runtime.core.decision = decision  # type: ignore[method-assign,assignment]
        task = asyncio.create_task(runtime.run())
        sent: dict[str, float] = {}
        killed = 0.0
        try:
            await asyncio.sleep(0.5)
            async with HubClient(states[0]) as client:
                for i in range(args.before + args.after):
                    if i == args.before:
                        leader.kill()
                        killed = time.monotonic()
                    target = f"45.14.{i // 200}.{1 + i % 200}"
                    sent[target] = time.monotonic()
                    while True:
                        try:
                            await client.send([brute(target)])
                            break
                        except HubError:
                            await asyncio.sleep(0.2)
                    await asyncio.sleep(args.interval)
            deadline = time.monotonic() + 60
            while len(targets) < len(sent) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    latency = {t: applied[c] - sent[t] for t, c in targets.items() if t in sent}
    order = list(sent)
    before = [latency[t] for t in order[:args.before] if t in latency]
    after = [latency[t] for t in order[args.before:] if t in latency]
    resumed = min((v for v in applied.values() if v > killed), default=float("nan"))
    return {"p50_before": statistics.median(before), "outage": resumed - killed,
            "worst_after": max(after, default=float("nan")),
            "complete": float(sorted(applied) == list(range(1, max(applied, default=0) + 1))
                              and len(latency) == len(sent))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=int, default=40)
    parser.add_argument("--after", type=int, default=60)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    results = {}
    with running_cluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        for mode in ("plain", "council"):
            root = Path(tmp) / mode
            root.mkdir()
            dsn = cluster.new_database()
            if mode == "council":
                config = Alliance(root, "--database", dsn, before=without_trust).config
            else:
                config = without_trust(init_hub(root / "hub", "--database", dsn))
            results[mode] = asyncio.run(case(config, root, args))
    print(f"{'':14}{'plain':>10}{'council':>10}{'ratio':>8}")
    for key in ("p50_before", "outage", "worst_after"):
        plain, council = results["plain"][key], results["council"][key]
        print(f"{key + ' s':14}{plain:10.3f}{council:10.3f}{council / plain:8.2f}")
    print(f"{'gap-free':14}{results['plain']['complete'] == 1:>10}{results['council']['complete'] == 1:>10}")
    print(f"load average: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
