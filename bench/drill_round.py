"""Drill round benchmark: one drill across N members, detection -> block on all.

Starts a real hub (``shieldwall hub serve``, its own process) on loopback and N
real agents (``shieldwall agent run``, one process each) joined to it. The agents
enforce in memory (the ``memory`` backend: nftables per member would need N
network namespaces; the nft path is proven by tests/e2e/test_drill.py); everything
else is the real chain: each agent's drills task fetches the signed order, feeds
drill lines through its sshd pack and scenarios, signals, receives the drill
decision over its decision stream, applies it, reads it back, and lifts it.

Each round orders a drill on all N members (as ``shieldwall drill run`` does) and
waits for its report. Printed per N: the round time (order written -> report
stored, which includes each member's order poll, up to 1 s), and from the reports
detection -> block on each member (from the alliance's first detection to the
member's read-back), p50 / p99 / on all, against the goal p99 <= 1 s.

With ``--postgresql`` the hub is two ``hub serve`` replicas on a private PostgreSQL
cluster: half the agents list the leader first, half the follower (their streams, order
polls and stage reports go there), and the leader conducts.

Run: python bench/drill_round.py [--members 100] [--rounds 5] [--postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shieldwall.drills.journal import put_order, report_of
from shieldwall.drills.order import OrderBody, sign_order
from shieldwall.drills.report import DrillReport, percentile
from shieldwall.hub.admin import create_invite
from shieldwall.hub.config import load_hub_config
from shieldwall.hub.create import ledger_for
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.signals.client import join

SHIELDWALL = [sys.executable, "-m", "shieldwall.cli.main"]
GOAL_P99 = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def join_all(hub_dir: Path, root: Path, count: int, listens: list[str]) -> list[Path]:
    config = load_hub_config(hub_dir)
    ledger = ledger_for(config)
    await ledger.open()
    try:
        # On replicas, every other member lists the follower first.
        tokens = [await create_invite(ledger, config, f"m{i}", 3600, time.time(),
                                      addresses=tuple(listens[i % 2:] + listens[:i % 2]))
                  if listens else await create_invite(ledger, config, f"m{i}", 3600, time.time())
                  for i in range(count)]
    finally:
        await ledger.close()
    dirs = [root / f"m{i}" for i in range(count)]
    semaphore = asyncio.Semaphore(10)  # a handshake each: a few at a time on 2 cores

    async def one(token: str, folder: Path) -> None:
        async with semaphore:
            await join(token, folder / "member")

    await asyncio.gather(*(one(t, d) for t, d in zip(tokens, dirs, strict=True)))
    return dirs


def agent_config(folder: Path) -> Path:
    log = folder / "auth.log"
    log.touch()
    text = (f'[agent]\ndata_dir = "{folder / "member"}"\n'
            f'\n[[sources]]\nkind = "file"\npath = "{log}"\npack = "sshd"\n'
            '\n[enforce]\nbackend = "memory"\n')
    path = folder / "agent.toml"
    path.write_text(text)
    return path


async def rounds_of(hub_dir: Path, count: int, rounds: int) -> list[tuple[float, DrillReport]]:
    config = load_hub_config(hub_dir)
    seed = (config.data_dir / IDENTITY_FILE).read_bytes()
    ledger = ledger_for(config)
    await ledger.open()
    found: list[tuple[float, DrillReport]] = []
    try:
        for round_ in range(rounds):
            body = OrderBody(id=f"drill-{secrets.token_hex(6)}",
                             target=f"198.51.100.{round_ + 1}", issued=int(time.time()), ttl=120,
                             members=tuple(f"m{i}" for i in range(count)))
            started = time.time()
            await put_order(ledger, sign_order(seed, body), started)
            while (report := await report_of(ledger, body.id)) is None:
                if time.time() - started > 150:
                    raise SystemExit(f"round {round_}: no report within 150 s")
                await asyncio.sleep(0.05)
            found.append((time.time() - started, report))
            failed = [m.member + " " + m.why for m in report.members if not m.passed]
            print(f"  round {round_}: {'passed' if report.passed else 'FAILED'} in"
                  f" {found[-1][0]:.2f} s; detection -> block p50 {ms(report.p50)}"
                  f" p99 {ms(report.p99)} on all {ms(report.on_all)}"
                  + (f"; {len(failed)} failed, e.g. {failed[0]}" if failed else ""), flush=True)
            await asyncio.sleep(1.0)
    finally:
        await ledger.close()
    return found


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def run_one(count: int, rounds: int, root: Path, database: str = ""
            ) -> list[tuple[float, DrillReport]]:
    hub_dir = root / "hub"
    port = free_port()
    extra = ["--database", database] if database else []
    subprocess.run([*SHIELDWALL, "hub", "init", "--data", str(hub_dir), "--listen",
                    f"127.0.0.1:{port}", *extra], check=True, capture_output=True)
    processes: list[subprocess.Popen[bytes]] = []
    listens = [f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}"] if database else []
    for i, listen in enumerate(listens or [f"127.0.0.1:{port}"]):
        processes.append(subprocess.Popen(
            [*SHIELDWALL, "hub", "serve", "--data", str(hub_dir), "--listen", listen],
            stdout=subprocess.DEVNULL, stderr=open(root / f"hub{i}.log", "wb"),  # noqa: SIM115
            start_new_session=True))
        if database and i == 0:
            time.sleep(3.0)  # the first replica stands for election alone: it leads
    hub = processes[0]
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or hub.poll() is not None:
                    raise SystemExit(f"hub did not start; see {root / 'hub0.log'}") from None
                time.sleep(0.05)
        dirs = asyncio.run(join_all(hub_dir, root, count, listens))
        started = time.time()
        outputs = []
        for folder in dirs:
            out = folder / "agent.out"
            outputs.append(out)
            processes.append(subprocess.Popen(
                [*SHIELDWALL, "agent", "run", "--config", str(agent_config(folder)),
                 "--log-format", "json"],
                stdout=open(out, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                start_new_session=True))
        while sum(b'"agent.start"' in o.read_bytes() for o in outputs if o.exists()) < count:
            dead = [p for p in processes if p.poll() is not None]
            if dead:
                out = outputs[processes.index(dead[0]) - len(listens or [0])]
                raise SystemExit(f"an agent exited ({out}):\n{out.read_text()[-2000:]}")
            if time.time() - started > 300:
                raise SystemExit("agents did not start within 5 minutes")
            time.sleep(0.2)
        time.sleep(3.0 + count * 0.03)  # every stream open, every drills task polled once
        print(f"  N={count}: {len(listens) or 1} hub process(es) + {count} agents up in"
              f" {time.time() - started:.1f} s",
              flush=True)
        return asyncio.run(rounds_of(hub_dir, count, rounds))
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[100])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgresql", action="store_true",
                        help="two hub replicas on a private PostgreSQL cluster")
    args = parser.parse_args()
    print("drill round: real hub + N real agents (memory enforcer), loopback, 2 cores"
          + (", PostgreSQL with 2 replicas" if args.postgresql else ""))
    with contextlib.ExitStack() as stack:
        cluster = None
        if args.postgresql:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.integration.pg_cluster import running_cluster

            cluster = stack.enter_context(running_cluster())
        for count in args.members:
            with tempfile.TemporaryDirectory(prefix="sw-drill-bench-") as tmp:
                found = run_one(count, args.rounds, Path(tmp),
                                cluster.new_database() if cluster is not None else "")
            summarise(count, found)


def summarise(count: int, found: list[tuple[float, DrillReport]]) -> None:
    """One line of figures for N members."""
    blocks = [m.detect_to_block for _, r in found for m in r.members
              if m.detect_to_block is not None]
    p99 = percentile(blocks, 99)
    passed = sum(r.passed for _, r in found)
    print(f"N={count}: {passed}/{len(found)} drills passed; round time p50"
          f" {percentile([t for t, _ in found], 50) or 0:.2f} s; detection -> block over"
          f" {len(blocks)} member-rounds: p50 {ms(percentile(blocks, 50))}, p99 {ms(p99)},"
          f" max {ms(max(blocks) if blocks else None)}; goal p99 <= {GOAL_P99:.0f} s:"
          f" {'met' if p99 is not None and p99 <= GOAL_P99 else 'NOT met'}"
          + (f" (p99 / goal = {p99 / GOAL_P99:.2f})" if p99 is not None else ""))


if __name__ == "__main__":
    main()
