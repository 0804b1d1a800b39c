"""``shieldwall demo`` as root: the real alliance in namespaces, narrated as it happens.

A hub, members a, b and c (each with a real sshd and an agent enforcing with
nftables; b also runs nginx) and an attacker. The attacker brute-forces a's
sshd; a detects, the hub decides, b and c block; then the demo proves with TCP
connections that the attacker can no longer reach b or c (and could before),
prints the timeline and removes everything.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shieldwall.drills.report import DrillReport
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.lab.alliance import Alliance
from shieldwall.lab.drill import drill_step
from shieldwall.lab.runner import Lab, LabError
from shieldwall.lab.timeline import (
    Entry,
    applied_delays,
    build_timeline,
    parse_notes,
    render_timeline,
)
from shieldwall.lab.topology import plan_lab

Say = Callable[[str], None]
MEMBERS = ("a", "b", "c")


@dataclass
class DemoResult:
    """What the demo showed."""

    attacker: str
    reachable_before: dict[str, bool] = field(default_factory=dict)
    reachable_after: dict[str, bool] = field(default_factory=dict)
    bystander_after: bool = False
    timeline: list[Entry] = field(default_factory=list)
    delays_ms: dict[str, float] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)
    #: The drill step's report (``demo --drill``), else ``None``.
    drill: DrillReport | None = None

    @property
    def proven(self) -> bool:
        """Reachable before, unreachable after, on every other member; nothing left over."""
        others = [m for m in MEMBERS if m != "a"]
        return (all(self.reachable_before.get(m) for m in others)
                and not any(self.reachable_after.get(m, True) for m in others)
                and not self.leftovers)


def describe(note: dict[str, object]) -> str | None:
    """A one-line narration of an agent note, or None for notes the demo does not show."""
    event = note.get("event")
    if event == "detection":
        return f"detected {note.get('ip')}: {note.get('scenario')} ({note.get('count')} failures)"
    if event == "signal.acked":
        return f"hub acknowledged {note.get('signals')} signal(s) (durable)"
    if event == "decision":
        return (f"decision #{note.get('cursor')} from the hub: {note.get('action')} "
                f"{note.get('target')} ({note.get('scenario')})")
    if event == "block.applied":
        how = ("local, not waiting for the hub" if note.get("origin") == "local"
               else "the alliance's decision")
        return f"BLOCKED {note.get('target')} ({how})"
    if event == "block.skipped":
        return f"not blocking {note.get('target')}: {note.get('reason')}"
    if event == "hub.unreachable":
        return f"hub unreachable, signals queued ({note.get('backlog')})"
    return None


class LiveNotes(threading.Thread):
    """Prints the hub's decisions and members' agent notes as they appear.

    Agents' notes are read from their log files; the hub's decisions from its
    ledger through one read connection kept open (the serving hub owns writes).
    """

    def __init__(self, alliance: Alliance, say: Say) -> None:
        super().__init__(name="demo-live", daemon=True)
        self.alliance, self.say = alliance, say
        self.offsets = dict.fromkeys(alliance.members, 0)
        self.stopping = threading.Event()
        self.hub_cursor = 0

    def run(self) -> None:
        from shieldwall.hub.config import LEDGER_FILE
        from shieldwall.hub.ledger.sqlite import SQLiteLedger

        loop = asyncio.new_event_loop()
        ledger = SQLiteLedger(self.alliance.hub_dir / LEDGER_FILE)
        loop.run_until_complete(ledger.open())
        try:
            while not self.stopping.is_set():
                self.poll(loop, ledger)
                self.stopping.wait(0.02)
            self.poll(loop, ledger)
        finally:
            loop.run_until_complete(ledger.close())
            loop.close()

    def poll(self, loop: asyncio.AbstractEventLoop, ledger: SQLiteLedger) -> None:
        fresh: list[tuple[float, str, str]] = []
        for decision in loop.run_until_complete(ledger.decisions_after(self.hub_cursor, 100)):
            self.hub_cursor = decision.cursor
            fresh.append((decision.created, "hub", (
                f"decision #{decision.cursor}: {decision.action} {decision.target} for "
                f"{(decision.until - decision.created) / 3600:.0f} h "
                f"({decision.scenario}, signal from {decision.origin})")))
        for name, member in self.alliance.members.items():
            try:
                with open(member.agent_log, "rb") as handle:
                    handle.seek(self.offsets[name])
                    data = handle.read()
            except FileNotFoundError:
                continue
            cut = data.rfind(b"\n") + 1
            self.offsets[name] += cut
            for note in parse_notes(data[:cut]):
                text = describe(note)
                if text:
                    fresh.append((note["t"], name, text))
        for t, name, text in sorted(fresh):
            stamp = time.strftime("%H:%M:%S", time.localtime(t))
            self.say(f"  {stamp}.{int(t % 1 * 1000):03d}  [{name}] {text}")

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)


def run_lab_demo(say: Say, attempts: int = 10, drill: bool = False) -> DemoResult:
    """Build, attack, prove, time and remove; returns what was shown."""
    suffix = secrets.token_hex(3)
    topology = plan_lab(["hub", *MEMBERS, "attacker"], suffix)
    attacker = topology.node("attacker").v4
    result = DemoResult(attacker=attacker)
    lab = Lab(topology)
    say(f"building the lab (namespaces swlab-{suffix}-*, addresses {topology.node('hub').v4}/24"
        " and fd77::/64, inside the namespaces only)...")
    with lab:
        alliance = Alliance(lab, MEMBERS, nginx_on=("b",))
        alliance.build()
        for name in MEMBERS:
            alliance.wait_note(name, "agent.start", timeout=20)
        say(f"  hub       {alliance.hub_address}  (shieldwall hub serve)")
        for name, member in alliance.members.items():
            services = "sshd" + (" + nginx" if member.nginx else "")
            say(f"  member {name}  {member.node.v4:<11} {services}, shieldwall agent (nftables)")
        say(f"  attacker  {attacker}")
        say("")
        for name in ("b", "c"):
            result.reachable_before[name] = alliance.tcp_open(name)
        say("before: attacker -> b:22 " + _state(result.reachable_before["b"])
            + ", attacker -> c:22 " + _state(result.reachable_before["c"]))
        say(f"attack: {attacker} tries wrong passwords on a's sshd")
        live = LiveNotes(alliance, say)
        live.start()
        try:
            for index in range(attempts):
                if any(n.get("event") == "detection" for n in alliance.notes("a")):
                    break
                say(f"  attacker: ssh root@{alliance.members['a'].node.v4} "
                    f"with a wrong password (#{index + 1})")
                alliance.ssh_attempts("a", 1, password=f"guess-{index}")
            for name in MEMBERS:
                alliance.wait_note(name, "block.applied", attacker, timeout=20)
            time.sleep(0.1)
        finally:
            live.stop()
        say("")
        for name in ("b", "c"):
            result.reachable_after[name] = alliance.tcp_open(name)
        result.bystander_after = alliance.tcp_open("b", source=alliance.members["a"].node.v4,
                                                   node="a")
        say("after:  attacker -> b:22 " + _state(result.reachable_after["b"])
            + ", attacker -> c:22 " + _state(result.reachable_after["c"])
            + "; member a -> b:22 " + _state(result.bystander_after))
        decision = next((d for d in alliance.decisions()
                         if d.target.split("/")[0] == attacker and d.action == "block"), None)
        notes = {name: alliance.notes(name) for name in MEMBERS}
        result.timeline = build_timeline(
            notes, attacker,
            (decision.created, decision.cursor, decision.origin) if decision else None)
        result.delays_ms = applied_delays(result.timeline)
        say("")
        say("timeline (from a's detection):")
        for line in render_timeline(result.timeline):
            say("  " + line)
        if drill:
            say("")
            result.drill = drill_step(alliance, say)
        result.leftovers = lab.close()
    leftover_ns = _namespaces_with(suffix)
    result.leftovers += [f"namespace {ns} still exists" for ns in leftover_ns]
    if result.leftovers:
        say("could not remove: " + "; ".join(result.leftovers))
    else:
        say(f"removed the lab: {len(topology.namespaces)} namespaces with their veths, "
            "the hub, 3 sshd, nginx and 3 agents")
    return result


def _state(open_: bool) -> str:
    return "open" if open_ else "BLOCKED"


def _namespaces_with(suffix: str) -> list[str]:
    try:
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                 check=False).stdout
    except OSError as exc:
        raise LabError(f"cannot list namespaces: {exc}") from None
    return [line.split()[0] for line in listing.splitlines() if f"-{suffix}-" in line]
