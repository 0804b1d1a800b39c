"""Readiness heartbeat cost on the hub, per 1,000 members, beside the signal envelope.

Starts a real hub (`shieldwall hub serve`, its own process) on loopback, joins N
members (default 1,000), then measures the hub process's CPU time (Linux /proc)
and the wall time for one heartbeat from every member, in three rounds:

1. first heartbeat of each member: its connection opens, and a transition unknown ->
   ok is journaled (a write);
2. steady heartbeats on kept-alive connections: no transition (memory only);
3. cold heartbeats, a new TLS connection each (an interval longer than the
   server's keep-alive, as at the default 30 s).

The peer: one signed envelope with one signal from every member (durable, group
commit) on kept-alive connections. Prints hub CPU ms per 1,000, the ratio to the
envelope, and the share of one core N members cost at a 30 s interval.
With ``--postgresql`` the hub is one replica on a private PostgreSQL cluster, whose
heartbeats also go to the shared roster table (hub.roster_share); the cluster's own CPU
(its postmaster and backends) is printed beside the hub's.
Prints figures only; asserts nothing. Run: python bench/readiness_heartbeat.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from shieldwall.hub.admin import create_invite
from shieldwall.hub.config import load_hub_config
from shieldwall.hub.create import ledger_for
from shieldwall.readiness.heartbeat import CheckReport, Heartbeat, encode
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.signal import Signal

CHECKS = tuple(CheckReport(f"R{i}", name, "ok", reason) for i, (name, reason) in enumerate((
    ("hub link", "hub 127.0.0.1:8443 answers; decision stream connected"),
    ("stream lag", "0 decisions behind (cursor 1234, hub head 1234)"),
    ("enforcer verified", "table inet shieldwall holds the store's 812 blocks (812 elements"
                          " counted, 256 sampled)"),
    ("sources alive", "auth.log: last line 12s ago (usually every 40s)"),
    ("packs and policy current", "packs match the alliance's: sshd@0123456789ab"),
    ("clock skew", "clock 0.0s ahead of the hub (±0.0s)"),
    ("outbox and disk", "0 signals waiting for the hub; 41.2 GiB free in /var/lib/shieldwall"),
    ("last drill passed", "no drill yet: this alliance has never run one"),
), start=1))


def cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def heartbeat(member: MemberState) -> bytes:
    return encode(Heartbeat(member=member.name, at=time.time(), interval=30.0, checks=CHECKS,
                            packs={"sshd": "0123456789abcdef" * 4}))


async def make_members(data: Path, count: int) -> list[MemberState]:
    config = load_hub_config(data / "hub")
    ledger = ledger_for(config)
    await ledger.open()
    try:
        tokens = [await create_invite(ledger, config, f"m{i}", 3600, time.time())
                  for i in range(count)]
    finally:
        await ledger.close()
    sem = asyncio.Semaphore(16)

    async def one(i: int, token: str) -> MemberState:
        async with sem:
            return await join(token, data / f"m{i}")

    return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens))))


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children (a PostgreSQL postmaster's backends)."""
    total = cpu_seconds(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
                if int(fields[1]) == pid:
                    total += cpu_seconds(int(entry.name))
    return total


async def main(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        extra: list[str] = []
        postmaster = 0
        if args.postgresql:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.integration.pg_cluster import running_cluster

            cluster = stack.enter_context(running_cluster())
            extra = ["--database", cluster.new_database()]
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        await run(args, extra, postmaster)


async def run(args: argparse.Namespace, extra: list[str], postmaster: int) -> None:
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp:
        data = Path(tmp)
        port = 20000 + os.getpid() % 20000
        subprocess.run([sys.executable, "-m", "shieldwall.cli.main", "hub", "init", "--data",
                        str(data / "hub"), "--listen", f"127.0.0.1:{port}", *extra], check=True,
                       stdout=subprocess.DEVNULL)
        hub = subprocess.Popen([sys.executable, "-m", "shieldwall.cli.main", "hub", "serve",
                                "--data", str(data / "hub")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            async with httpx.AsyncClient(verify=False) as probe:
                for _ in range(200):
                    try:
                        await probe.get(f"https://127.0.0.1:{port}/healthz")
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.05)
            started = time.perf_counter()
            members = await make_members(data, args.members)
            print(f"{len(members)} members joined in {time.perf_counter() - started:.1f}s;"
                  f" {args.concurrency} requests in flight")
            # What the hub spends doing nothing (leases, sweeps, the drill desk's tick):
            # subtracted from the wait for the shared roster's write below.
            idle_cpu, idle_wall = cpu_seconds(hub.pid), time.perf_counter()
            await asyncio.sleep(3.0)
            idle = (cpu_seconds(hub.pid) - idle_cpu) / (time.perf_counter() - idle_wall)
            print(f"idle hub: {idle * 1000:.1f} ms CPU per second")
            sem = asyncio.Semaphore(args.concurrency)
            costs = {"first": 0.0, "steady": 0.0, "cold": 0.0, "envelope": 0.0}
            walls = dict.fromkeys(costs, 0.0)
            db = dict.fromkeys(costs, 0.0)

            async def phase(name: str, chunk: list[int], send: Callable[[int], Awaitable[object]]
                            ) -> None:
                async def one(i: int) -> None:
                    async with sem:
                        await send(i)
                cpu, start = cpu_seconds(hub.pid), time.perf_counter()
                server = tree_cpu(postmaster) if postmaster else 0.0
                await asyncio.gather(*(one(i) for i in chunk))
                walls[name] += time.perf_counter() - start
                if postmaster:  # the shared roster's write lands up to a round later
                    await asyncio.sleep(0.6)
                costs[name] += cpu_seconds(hub.pid) - cpu - (idle * 0.6 if postmaster else 0.0)
                if postmaster:
                    db[name] += tree_cpu(postmaster) - server

            # Chunks of members at a time, so that kept-alive connections really are
            # (the server closes idle ones after 5 s).
            clients: dict[int, HubClient] = {}

            def beat(i: int) -> Awaitable[object]:
                return clients[i].request("POST", "/v1/heartbeat", heartbeat(members[i]))

            async def cold(i: int) -> None:
                async with HubClient(members[i], attempts=1) as fresh:
                    await fresh.request("POST", "/v1/heartbeat", heartbeat(members[i]))

            def envelope(i: int) -> Awaitable[object]:
                target = f"45.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
                return clients[i].send([Signal(kind="detection", target=target,
                                               scenario="ssh-bruteforce", count=6)])

            for low in range(0, len(members), args.chunk):
                chunk = list(range(low, min(low + args.chunk, len(members))))
                clients.clear()
                clients.update((i, HubClient(members[i], attempts=1)) for i in chunk)
                await phase("first", chunk, beat)
                for _ in range(args.steady):
                    await phase("steady", chunk, beat)
                await phase("envelope", chunk, envelope)
                await phase("cold", chunk, cold)
                for client in clients.values():
                    await client.aclose()
            n = len(members)
            counts = {"first": n, "steady": n * args.steady, "cold": n, "envelope": n}
            labels = {"first": "first heartbeat (new connection, journaled)",
                      "steady": "steady heartbeat, kept-alive connection",
                      "cold": "heartbeat on a new TLS connection",
                      "envelope": "peer: 1-signal envelope, kept-alive"}
            per = {k: costs[k] / counts[k] * 1000 for k in costs}
            for k in ("first", "steady", "cold", "envelope"):
                server = (f", PostgreSQL CPU {db[k] / counts[k] * 1e6:7.1f} ms per 1,000"
                          if postmaster else "")
                print(f"{labels[k]:<44} hub CPU {per[k] * 1000:7.1f} ms per 1,000{server}"
                      f"   ({counts[k]} sent, {counts[k] / walls[k]:,.0f}/s)")
            warm, peer = per["steady"], per["envelope"]
            print(f"ratio heartbeat / envelope: steady {warm / peer:.2f}, first"
                  f" {per['first'] / peer:.2f}, new connection {per['cold'] / peer:.2f}")
            rate = n / 30.0
            print(f"at a 30 s interval, {n} members = {rate:.0f} heartbeats/s ="
                  f" {warm * rate / 1000:.1%} of one hub core on kept-alive connections,"
                  f" {per['cold'] * rate / 1000:.1%} on new TLS connections")
        finally:
            hub.terminate()
            hub.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=100, help="members connected at once")
    parser.add_argument("--steady", type=int, default=3, help="kept-alive rounds per member")
    parser.add_argument("--postgresql", action="store_true",
                        help="the hub on a private PostgreSQL cluster (one replica)")
    asyncio.run(main(parser.parse_args()))
