"""``shieldwall demo --simulate``: the demo's flow in one process, without root.

The real hub application serves HTTPS on loopback inside this process; three
real agent runtimes (sources, detection, signing, the decision stream) run in
the same event loop with in-memory enforcers instead of nftables; the
"attacker" is a writer appending sshd failure lines to member a's log. What is
simulated: the network between hosts, sshd itself, and the firewall.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shieldwall.agent.config import AgentConfig, SourceConfig
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.hub.create import init_hub, invite, with_ledger
from shieldwall.lab.show import MEMBERS, DemoResult, describe
from shieldwall.lab.syslog import syslog_line
from shieldwall.lab.timeline import applied_delays, build_timeline, render_timeline

Say = Callable[[str], None]
#: TEST-NET-3 (RFC 5737): never routed, safe to "block" in a simulation.
ATTACKER = "203.0.113.66"
MEMBER_ADDRESSES = {"a": "192.0.2.11", "b": "192.0.2.12", "c": "192.0.2.13"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _init_hub(hub_dir: Path, port: int) -> None:
    # The simulated addresses are documentation ranges, which the shipped policy refuses.
    init_hub(hub_dir, listen=f"127.0.0.1:{port}", allow_reserved=True)


async def _simulate(say: Say, root: Path, attempts: int, port: int) -> DemoResult:
    from shieldwall.hub.config import load_hub_config
    from shieldwall.hub.server import make_server
    from shieldwall.signals.client import join

    result = DemoResult(attacker=ATTACKER)
    hub_dir = root / "hub"
    config = load_hub_config(hub_dir)
    server = make_server(config)
    serving = asyncio.create_task(server.serve())
    notes: dict[str, list[dict[str, Any]]] = {m: [] for m in MEMBERS}
    enforcers = {m: MemoryEnforcer() for m in MEMBERS}
    agents: list[asyncio.Task[None]] = []
    try:
        while not server.started:
            if serving.done():
                serving.result()
                raise RuntimeError("the hub did not start")
            await asyncio.sleep(0.01)
        say(f"  hub       127.0.0.1:{port}  (in this process, HTTPS)")
        tokens = {m: await invite(config, m, 600, time.time()) for m in MEMBERS}
        for name in MEMBERS:
            folder = root / name
            await join(tokens[name], folder / "member", [MEMBER_ADDRESSES[name]])
            (folder / "auth.log").touch()

            def sink(event: str, fields: dict[str, Any], name: str = name) -> None:
                note = {"t": time.time(), "event": event, **fields}
                notes[name].append(note)
                text = describe(note)
                if text:
                    stamp = time.strftime("%H:%M:%S", time.localtime(note["t"]))
                    say(f"  {stamp}.{int(note['t'] % 1 * 1000):03d}  [{name}] {text}")

            agent_config = AgentConfig(
                data_dir=folder / "member", name=name, backend="memory",
                sources=(SourceConfig(kind="file", pack="sshd", path=str(folder / "auth.log")),),
            )
            runtime = AgentRuntime(agent_config, enforcer=enforcers[name], notes=sink)
            agents.append(asyncio.create_task(runtime.run(), name=f"agent-{name}"))
            say(f"  member {name}  {MEMBER_ADDRESSES[name]:<11} agent (memory enforcer)")
        say(f"  attacker  {ATTACKER}  (simulated: writes sshd lines into a's log)")
        while not all(any(n["event"] == "agent.start" for n in notes[m]) for m in MEMBERS):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # let the followers connect before the attack
        say("")
        for name in ("b", "c"):
            result.reachable_before[name] = ATTACKER not in enforcers[name].current(time.time())
        say(f"attack: {ATTACKER} tries wrong passwords on a's sshd")
        log = root / "a" / "auth.log"
        for index in range(attempts):
            if any(n["event"] == "detection" for n in notes["a"]):
                break
            line = syslog_line(
                f"Failed password for root from {ATTACKER} port {40000 + index} ssh2".encode(),
                time.time(), "a", "sshd", 4242)
            with open(log, "ab") as handle:
                handle.write(line)
            say(f"  attacker: wrong password #{index + 1} (a's sshd logs it)")
            await asyncio.sleep(0.1)
        deadline = time.time() + 15
        while not all(ATTACKER in enforcers[m].current(time.time()) for m in MEMBERS):
            if time.time() > deadline:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        for name in ("b", "c"):
            result.reachable_after[name] = ATTACKER not in enforcers[name].current(time.time())
        say("")
        say("after: b's and c's in-memory firewalls hold "
            + ", ".join(f"{m}: {sorted(enforcers[m].current(time.time()))}" for m in ("b", "c")))
        decisions = await with_ledger(config, lambda ledger: ledger.decisions_after(0, 1000))
        decision = next((d for d in decisions if d.target.split("/")[0] == ATTACKER), None)
        result.timeline = build_timeline(
            notes, ATTACKER,
            (decision.created, decision.cursor, decision.origin) if decision else None)
        result.delays_ms = applied_delays(result.timeline)
        say("")
        say("timeline (from a's detection):")
        for text in render_timeline(result.timeline):
            say("  " + text)
    finally:
        for task in agents:
            task.cancel()
        for task in agents:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # As a signal would: end the streams and the drill-order long polls first, or
        # uvicorn waits for them and then cancels them with a traceback each.
        server.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)
    return result


def run_simulation(say: Say, attempts: int = 10) -> DemoResult:
    """Run the simulated demo in a temporary folder, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="shieldwall-simulate-"))
    try:
        port = _free_port()
        _init_hub(root / "hub", port)  # before the loop: `hub init` runs its own
        return asyncio.run(_simulate(say, root, attempts, port))
    finally:
        shutil.rmtree(root, ignore_errors=True)
