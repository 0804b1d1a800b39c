"""A simulated alliance of five members and a new experimental rule, end to end.

A real hub over HTTPS on loopback (its TUF repository served by the hub itself),
five real members (joined with tokens, each with its own agent runtime, memory
enforcer and pinned arsenal), real CLI commands for the council. The members'
log lines are fed to their runtimes the way the source task does.

- while experimental: shadow sightings only; no block anywhere, no decision;
- the hub's figures (``arsenal report --json``) equal the ones computed by hand;
- a promotion signed by one councillor (k-1) is refused; by two it is published;
- after promotion the members enforce the rule through the alliance.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner, Result

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.arsenal.measure import SIGHTING
from shieldwall.arsenal.member import trust_of
from shieldwall.arsenal.repository import Repository
from shieldwall.cli.main import cli
from shieldwall.detection.scenario import default_scenarios, scenario_version
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.events.packs import load_pack
from shieldwall.governance.store import save_key
from shieldwall.hub.admin import explain
from shieldwall.hub.config import HubConfig
from shieldwall.signals.client import HubClient
from shieldwall.signals.member_state import MemberState
from shieldwall.sources import SourceSpec
from tests.arsenal.alliance import Council, shipped_rule
from tests.conftest import shared_data
from tests.integration.hub_harness import hub_context, init_hub, new_member, running_hub

RULE = "ssh-quick-guess@1"
#: The shipped ssh-bruteforce with the shipped sshd pack.
SHIPPED = scenario_version(next(s for s in default_scenarios() if s.name == "ssh-bruteforce"),
                           [load_pack("sshd")])
# Routable addresses (the hub never decides on documentation ranges), only ever written in logs.
A, B, E, D, F = "45.33.10.1", "45.33.20.2", "45.33.30.3", "45.33.40.4", "45.33.50.5"


def failures(address: str, at: float, count: int = 3, pid: int = 100) -> bytes:
    """``count`` failed SSH logins from ``address``, one second apart, from log time ``at``."""
    return b"".join(
        time.strftime("%b %e %H:%M:%S", time.gmtime(at + i)).encode()
        + b" host sshd[%d]: Failed password for root from %s port %d ssh2\n"
        % (pid + i, address.encode(), 40000 + i)
        for i in range(count)
    )


async def cli_run(*args: str) -> Result:
    # The hub runs in this event loop: a command that talks to it runs in a thread.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def arsenal_refresh(member: Member) -> bool:
    """What the agent's arsenal.update task does: fetch in a thread, swap in the loop's."""
    current = await asyncio.to_thread(member.runtime.arsenal.fetch)
    if current is not None:
        member.runtime.arsenal._load(current)
    return current is not None


class Member:
    def __init__(self, state: MemberState) -> None:
        self.state = state
        self.notes: list[tuple[str, dict[str, object]]] = []
        self.enforcer = MemoryEnforcer()
        self.source = SourceSpec(pack="sshd", path=str(state.data_dir / "auth.log"))
        config = AgentConfig(data_dir=state.data_dir, backend="memory", sources=(self.source,))
        self.runtime = AgentRuntime(config, enforcer=self.enforcer,
                                    notes=lambda e, f: self.notes.append((e, f)))
        self.runtime.execute(self.runtime.core.startup(time.time()))

    def read(self, chunk: bytes) -> None:
        """What the source task does with a chunk (agent/runtime.py _read)."""
        self.runtime.handle(functools.partial(self.runtime.core.lines, self.source.label, chunk))
        self.runtime.arsenal.lines(self.source, chunk)

    async def send(self) -> None:
        async with HubClient(self.state) as hub:
            await self.runtime.arsenal.report(hub)
            pending = self.runtime.state.pending(500)
            if pending:
                await hub.send([s for _, s in pending])
                self.runtime.state.sent([i for i, _ in pending])


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


async def test_five_members_measure_an_experimental_rule_then_the_council_promotes_it(
    hub_config: HubConfig, tmp_path: Path,
) -> None:
    council = Council.new()
    keys = []
    for index, seed in enumerate(council.seeds):
        save_key(tmp_path / f"c{index}.key", seed)
        keys += ["--key", str(tmp_path / f"c{index}.key")]
    hub = ["--hub-dir", str(hub_config.data_dir)]
    founded = await cli_run("arsenal", "init", *hub, *keys[:4], "--threshold", "2",
                            *(x for p in council.public for x in ("--councillor", p.hex())))
    assert founded.exit_code == 0, founded.output
    rule_file = tmp_path / "rule.toml"
    rule_file.write_bytes(shipped_rule().raw)
    proposed = await cli_run("arsenal", "propose", str(rule_file), *hub, *keys[:4],
                             "--data", str(shared_data()))
    assert proposed.exit_code == 0, proposed.output
    assert "ok    crowdsec:sshd-invalid-bf" in proposed.output
    pin = hashlib.sha256(Repository(hub_config.data_dir / "arsenal").root_bytes(1)).hexdigest()

    async with running_hub(hub_config) as server:
        members = []
        for index in range(5):
            # The join token carries the arsenal root's hash: joining pins it (fetched, checked).
            state = await new_member(hub_config, tmp_path / f"m{index}", f"m{index}")
            trust = trust_of(state.data_dir / "arsenal")
            assert trust is not None and trust.root_sha256 == pin
            members.append(Member(state))
        for member in members:
            assert await arsenal_refresh(member)
            assert member.runtime.arsenal.engine.reading("sshd") == [RULE]

        # -- experimental: shadow everywhere ---------------------------------------
        t0 = time.time() - 3000
        for index in range(4):
            members[index].read(failures(A, t0 + 60 * index))
        for index in range(2):
            members[index].read(failures(B, t0 + 600, pid=200))
        members[4].read(failures(E, t0 + 1200, pid=300))
        # The member's own shipped scenarios work beside the alliance's: five failures are the
        # shipped ssh-bruteforce's, which blocks F on m4 at once (and 2 s after the rule sighted it).
        members[4].read(failures(F, t0 + 1800, count=5, pid=500))
        for member in members:
            await member.send()
        assert [set(m.enforcer.elements) for m in members] == [set()] * 4 + [{F}]
        assert all(not m.runtime.state.backlog() for m in members)
        ledger = hub_context(server).ledger
        # Four members saw A: as signals that is past the policy's quorum (3). As trials it is nothing.
        assert [d for d in await ledger.decisions_after(0, 100) if d.target != F] == []
        sightings = [msgspec.json.decode(e.body) for e in await ledger.journal(SIGHTING)]
        assert [s["mode"] for s in sightings if s["rule"] == RULE] == ["shadow"] * 8
        # The shipped scenario is measured too, under its rule version; its block names it.
        (shipped,) = [s for s in sightings if s["rule"] != RULE]
        assert (shipped["rule"], shipped["target"], shipped["mode"]) == (SHIPPED, F, "live")
        assert [(d.target, d.rule) for d in await ledger.decisions_after(0, 100)] == [(F, SHIPPED)]
        explained = (await explain(ledger, hub_config, F, time.time())).render(time.time())
        assert f"no charter, rule {SHIPPED}" in explained
        # What `shieldwall blocks` prints for m4's own block of F:
        assert members[4].runtime.core.blocks[F].reason == f"5 events, rule {SHIPPED}"

        # -- the hub's figures, as computed by hand ----------------------------------
        reported = await cli_run("arsenal", "report", RULE, *hub, "--json")
        assert reported.exit_code == 0, reported.output
        figures = msgspec.json.decode(reported.output)[0]["figures"]
        cpu = figures.pop("cpu_per_million")
        assert cpu is not None and cpu > 0
        assert {k: v for k, v in figures.items() if k not in ("start", "end")} == {
            "rule": RULE,
            "detections_live": 0, "detections_shadow": 8,   # A x4, B x2, E x1, F x1
            "targets": 4, "members": 5,
            "corroborated": 3, "corroboration": 0.75,       # A, B: other members; F: another rule
            "earliness": 2.0,                                # F: at the 3rd failure, not the 5th
            "protected_hits": 0, "lifted": 0, "disputes": 0,
            "lines": 26,                                     # 7 x 3 lines, and F's 5
        }

        # -- promotion: k-1 signatures refused, k published ----------------------------
        refused = await cli_run("arsenal", "promote", RULE, "--to", "test", *hub, *keys[:2])
        assert refused.exit_code != 0
        assert "signed by 1/2 keys" in refused.output
        promoted = await cli_run("arsenal", "promote", RULE, "--to", "test", *hub, *keys[2:6])
        assert promoted.exit_code == 0, promoted.output
        listed = await cli_run("arsenal", "list", *hub, "--json")
        assert msgspec.json.decode(listed.output)[0]["status"] == "test"
        for member in members:
            assert await arsenal_refresh(member)

        # -- after promotion: the alliance enforces it -----------------------------------
        for index in range(3):
            members[index].read(failures(D, time.time() - 60 + index, pid=400 + 10 * index))
        # Local first, as the shipped scenarios: the three that saw D block it at once.
        assert [set(m.enforcer.current(time.time())) - {F} for m in members] == [{D}] * 3 + [set()] * 2
        for member in members:
            await member.send()
        decisions = [d for d in await ledger.decisions_after(0, 100) if d.target != F]
        # The decision names the rule version that caused it.
        assert [(d.action, d.target, d.scenario, d.rule) for d in decisions] == [
            ("block", D, "ssh-quick-guess", RULE)]
        for member in members:
            for decision in decisions:
                member.runtime.handle(functools.partial(member.runtime.core.decision, decision))
        assert [set(m.enforcer.current(time.time())) - {F} for m in members] == [{D}] * 5
        live = [msgspec.json.decode(e.body) for e in await ledger.journal(SIGHTING)][9:]
        assert [(s["target"], s["mode"], s["rule"]) for s in live] == [(D, "live", RULE)] * 3
