"""Hub benchmark: one poisoning or flooding member must not starve the others.

Starts a real hub (`shieldwall hub serve`, its own process) on loopback in a
temporary folder with ``--members`` honest members and ``mallory``. Each honest
member sends a batch of ``--batch`` signals every ``--interval`` seconds, within
the default per-member quota (200,000 signals/hour), and waits for each
acknowledgement (durable) before the next; first alone for ``--seconds``
(baseline), then for as long again while ``mallory`` attacks with one of:

* ``poison``: signed envelopes carrying an integer above 2**63-1 (issue 10 F1:
  this used to fail every envelope in the same group commit), from several
  connections at once;
* ``flood``: the largest valid envelopes the hub takes (about 3 MB: unknown
  scenarios, long evidence) back to back, past her hourly quota;
* ``both``.

Mallory runs in a process of her own at the lowest CPU priority (``nice 19``): in
reality she sends from another machine, and her client's own CPU must not be
counted as the hub's. Prints the honest members' accepted batches in each phase
and their ratio (attack / baseline), their acknowledgement latency (p50, p99),
mallory's answers by status, and the hub's RSS. Prints figures only; asserts nothing (not a timed test). Run:

    python bench/hub_poison.py --seconds 15 --attack both
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

from shieldwall.errors import HubError, SignalError
from shieldwall.hub.admin import create_invite
from shieldwall.hub.config import load_hub_config
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.envelope import seal_envelope
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from shieldwall.signals.signal import Signal


def run_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "shieldwall.cli.main", *args], check=True,
                   stdout=subprocess.DEVNULL)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def address(member: int, n: int) -> str:
    value = (member << 22) + n
    return f"{45 + (value >> 24) % 50}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


async def make_members(data: Path, names: list[str]) -> list[MemberState]:
    config = load_hub_config(data / "hub")
    ledger = SQLiteLedger(config.ledger_path)
    await ledger.open()
    try:
        tokens = [await create_invite(ledger, config, name, 3600, time.time()) for name in names]
    finally:
        await ledger.close()
    return [await join(token, data / name) for name, token in zip(names, tokens, strict=True)]


async def honest(state: MemberState, index: int, batch: int, interval: float, until: float,
                 start: int, latencies: list[float]) -> int:
    """Batches acknowledged before ``until``, one every ``interval`` at most."""
    accepted = 0
    n = start
    async with HubClient(state) as client:
        next_at = time.perf_counter() + index * interval / 8
        while time.perf_counter() < until:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            next_at += interval
            signals = [
                Signal(kind="detection", target=address(index, n + i),
                       scenario="ssh-bruteforce" if i % 2 else "http-probing", count=6,
                       evidence=("Failed password for root from x port 22 ssh2",))
                for i in range(batch)
            ]
            n += batch
            sent = time.perf_counter()
            try:
                await client.send(signals)
            except (HubError, SignalError):
                continue
            latencies.append(time.perf_counter() - sent)
            if time.perf_counter() <= until:
                accepted += 1
    return accepted


async def poison(state: MemberState, until: float, answers: collections.Counter[str]) -> None:
    async with httpx.AsyncClient(base_url=state.base_url, verify=state.ssl_context()) as http:
        seq = 10**17
        while time.perf_counter() < until:
            seq += 1
            raw = msgspec.json.decode(seal_envelope(
                state.seed, state.key_id, seq, time.time(),
                [Signal(kind="detection", target=address(9, seq % 100000), scenario="x")],
            ))
            raw["signals"][0]["count"] = 2**63 + seq
            body = msgspec.json.encode(raw)
            headers = sign_request(state.seed, state.key_id, "POST", "/v1/signals",
                                   time.time(), body)
            try:
                response = await http.post("/v1/signals", content=body, headers=headers)
                answers[f"poison {response.status_code}"] += 1
            except httpx.HTTPError as exc:
                answers[f"poison {type(exc).__name__}"] += 1


async def flood(state: MemberState, until: float, answers: collections.Counter[str]) -> None:
    line = "x" * 1500
    n = 0
    async with HubClient(state, attempts=1) as client:
        while time.perf_counter() < until:
            signals = [Signal(kind="detection", target=address(7, n + i), scenario="made-up",
                              evidence=(line,)) for i in range(2000)]
            n += 2000
            try:
                await client.send(signals)
                answers["flood applied"] += 1
            except SignalError as exc:
                answers[f"flood {exc.reason}"] += 1
            except HubError as exc:
                answers["flood quota" if "quota" in str(exc) else "flood unavailable"] += 1


async def attack_for(state: MemberState, attack: str, seconds: float) -> None:
    """Mallory's process: attack for ``seconds``, then print her answers as JSON."""
    until = time.perf_counter() + seconds
    answers: collections.Counter[str] = collections.Counter()
    jobs = []
    if attack in ("poison", "both"):
        jobs += [poison(state, until, answers) for _ in range(4)]
    if attack in ("flood", "both"):
        jobs.append(flood(state, until, answers))
    await asyncio.gather(*jobs)
    print(msgspec.json.encode(dict(answers)).decode())


async def phase(members: list[MemberState], attacker: Path | None, attack: str,
                args: argparse.Namespace, start: int,
                ) -> tuple[list[int], list[float], dict[str, int]]:
    seconds = args.seconds
    until = time.perf_counter() + seconds
    mallory = None
    if attacker is not None:
        mallory = await asyncio.create_subprocess_exec(
            "nice", "-n", "19", sys.executable, __file__, "--role", "attacker",
            "--member", str(attacker), "--attack", attack, "--seconds", str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )
    latencies: list[float] = []
    results = await asyncio.gather(*(honest(m, i, args.batch, args.interval, until, start,
                                            latencies) for i, m in enumerate(members)))
    answers: dict[str, int] = {}
    if mallory is not None:
        out, _ = await mallory.communicate()
        answers = msgspec.json.decode(out.strip().splitlines()[-1], type=dict[str, int])
    return list(results), latencies, answers


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="shieldwall-bench-") as tmp:
        data = Path(tmp)
        port = 20000 + os.getpid() % 20000
        run_cli("hub", "init", "--data", str(data / "hub"), "--listen", f"127.0.0.1:{port}")
        with (data / "hub" / "hub.toml").open("a") as toml:
            toml.write(f"signals_per_hour = {args.quota}\n")
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
            names = [f"honest{i}" for i in range(args.members)]
            *members, mallory = await make_members(data, [*names, "mallory"])
            rss0 = rss_mb(hub.pid)
            base, base_lat, _ = await phase(members, None, args.attack, args, 0)
            rss1 = rss_mb(hub.pid)
            under, under_lat, answers = await phase(members, mallory.data_dir, args.attack,
                                                    args, 10**6)
            rss2 = rss_mb(hub.pid)
            print(f"attack: {args.attack}; {args.seconds:.0f} s per phase; {args.members} honest"
                  f" members, a batch of {args.batch} signals every {args.interval} s each;"
                  f" quota {args.quota} signals/hour per member")
            worst = min(u / b for b, u in zip(base, under, strict=True) if b)
            total = sum(under) / sum(base) if sum(base) else float("nan")
            print(f"  honest accepted batches: baseline {sum(base)}, under attack {sum(under)};"
                  f" ratio {total:.3f} (worst member {worst:.3f})")
            print(f"  honest ack latency ms: baseline p50 {percentile(base_lat, 0.5):.0f}"
                  f" p99 {percentile(base_lat, 0.99):.0f}; under attack p50"
                  f" {percentile(under_lat, 0.5):.0f} p99 {percentile(under_lat, 0.99):.0f}")
            for key, count in sorted(answers.items()):
                print(f"  mallory {key}: {count}")
            print(f"  hub RSS: {rss0:.0f} MB at start, {rss1:.0f} MB after baseline,"
                  f" {rss2:.0f} MB after the attack")
        finally:
            hub.terminate()
            hub.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--attack", choices=("poison", "flood", "both"), default="both")
    parser.add_argument("--quota", type=int, default=200_000,
                        help="signals per hour per member (hub.toml signals_per_hour)")
    parser.add_argument("--role", choices=("bench", "attacker"), default="bench",
                        help=argparse.SUPPRESS)
    parser.add_argument("--member", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.role == "attacker":
        from shieldwall.signals.member_state import load_member_state

        asyncio.run(attack_for(load_member_state(arguments.member), arguments.attack,
                               arguments.seconds))
    else:
        asyncio.run(main(arguments))
