"""Real decisions on the activity page's propagation histogram: a real hub (each
backend), three real agents (in-memory enforcers, heartbeats every second), a real
attack in one member's log; the page then counts the decision as measured."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from shieldwall.agent.runtime import AgentRuntime
from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import (
    DecisionRecord,
    InviteRecord,
    JournalEntry,
    MemberRecord,
    WriteGroup,
)
from shieldwall.hub.policy_values import Contribution
from shieldwall.hub.roster import JOURNAL_KIND, Transition
from shieldwall.hub.roster_keeper import RosterKeeper
from shieldwall.readiness.applied import APPLIED_KIND, AppliedRecord, encode_record
from shieldwall.readiness.verdict import Duration, Thresholds
from shieldwall.ui.propagation import GIVE_UP_AFTER, Remembered, real_figures
from tests.integration.hub_harness import backend_hub, hub_context, init_hub, running_hub
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture
from tests.integration.test_agent_hub import ATTACKER, Member, attack_lines, members
from tests.ui.browser import chromium, need_chromium

pytestmark = pytest.mark.timeout(180)
T0 = 1.7e9
cluster = pg_cluster_fixture()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    return backend_hub(request, tmp_path / "hub")


@contextlib.asynccontextmanager
async def beating(member: Member) -> AsyncIterator[AgentRuntime]:
    """The member's agent, heartbeating every second."""
    config = replace(member.config(), readiness=Thresholds(interval=Duration(1.0)))
    runtime = AgentRuntime(config, enforcer=member.enforcer,
                           notes=lambda e, f: member.notes.append((e, f)))
    task = asyncio.create_task(runtime.run())
    try:
        yield runtime
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def with_javascript_off(url: str) -> tuple[list[str], str]:
    """The bars' titles and the notes Debian's Chromium shows of the page with
    JavaScript disabled (the legend is a note under the chart)."""
    need_chromium()
    async with chromium(javascript=False) as context:
        page: Any = await context.new_page()  # type: ignore[attr-defined]
        await page.goto(url)
        bars = await page.locator("svg rect title").all_text_contents()
        notes = " ".join(await page.locator("p.note").all_inner_texts())
    return bars, notes


def keeper_of(server: Any) -> RosterKeeper:
    """The running hub's roster keeper (the heartbeats it received)."""
    keeper: RosterKeeper = server.config.app.state.roster.keeper
    return keeper


async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.1)


async def test_a_real_detection_is_counted_on_the_activity_pages_histogram(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config) as server:
        hub = hub_context(server)
        roster = keeper_of(server)
        a, b, c = await members(tmp_path, hub_config, "a", "b", "c")
        async with beating(a), beating(b), beating(c), httpx.AsyncClient(
                base_url=f"https://{hub_config.listen}", verify=False, timeout=10.0) as page:
            # Every member ready first: only members ready when it is decided are expected.
            await until(lambda: all(roster.roster.get(n) is not None and
                                    roster.roster[n].state in ("ok", "degraded")
                                    for n in "abc"), "every member ready in the roster")
            with a.log.open("a") as log:
                log.write(attack_lines(ATTACKER, 5))
            await until(lambda: all(ATTACKER in m.blocked() for m in (a, b, c)),
                        "the attacker blocked on every member")
            assert hub.feed.head >= 1
            text = ""
            for _ in range(100):  # the next heartbeats carry the applied times
                text = (await page.get("/ui/activity")).text
                if "Real decisions: 1 measured" in text:
                    break
                await asyncio.sleep(0.2)
            bars, notes = await with_javascript_off(f"https://{hub_config.listen}/ui/activity")
    assert "■ real decisions" in notes and "Real decisions: 1 measured" in notes, notes
    assert any(t.endswith("real decisions: 1") for t in bars), bars
    assert "Real decisions: 1 measured" in text, text
    # One bar of the real-decision series, in some bin; drills have none.
    bars = re.findall(r"<title>([^<]*real decisions: (\d+))</title>", text)
    assert [count for _, count in bars] == ["1"], bars
    print(f"real decision propagation bin: {bars[0][0]}")
    assert "drills: " not in " ".join(title for title, _ in bars)
    assert "No drill yet" in text


@pytest.fixture
def replicated(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return load_hub_config(init_hub(tmp_path / "hub", "--database",
                                    cluster.new_database()).data_dir)


@pytest.mark.root
async def test_every_postgresql_replica_shows_the_same_real_figures(
    replicated: HubConfig, tmp_path: Path
) -> None:
    from tests.integration.test_hub_replicas import replicas

    config = replicated
    async with replicas(config, 2) as servers:
        # The members join, heartbeat and follow through the first replica only.
        roster = keeper_of(servers[0])
        a, b, c = await members(tmp_path, config, "a", "b", "c")
        async with beating(a), beating(b), beating(c):
            await until(lambda: all(roster.roster.get(n) is not None and
                                    roster.roster[n].state in ("ok", "degraded")
                                    for n in "abc"), "every member ready in the roster")
            with a.log.open("a") as log:
                log.write(attack_lines(ATTACKER, 5))
            await until(lambda: all(ATTACKER in m.blocked() for m in (a, b, c)),
                        "the attacker blocked on every member")
            notes: list[str] = []
            for _ in range(100):
                notes = []
                for server in servers:
                    async with httpx.AsyncClient(
                            base_url=f"https://{hub_context(server).config.listen}",
                            verify=False, timeout=10.0) as page:
                        text = (await page.get("/ui/activity")).text
                    notes.append(re.findall(r"Real decisions: [^.]*\.", text)[0])
                if notes[0] == notes[1] == "Real decisions: 1 measured.":
                    break
                await asyncio.sleep(0.2)
    # The second replica took no heartbeat: its page reads the same journal.
    assert notes == ["Real decisions: 1 measured."] * 2, notes
    assert keeper_of(servers[1]).accepted == 0 and keeper_of(servers[0]).accepted > 0


async def ledger_with(tmp_path: Path, names: str, decisions: int) -> SQLiteLedger:
    """A SQLite ledger with members ``names`` (ready since t=2) and real blocks 1..N,
    each detected by the first member 0.5 s before it was decided at T0 + seq."""
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    await ledger.open(create=True)
    for name in names:
        await ledger.add_invite(InviteRecord(f"h-{name}", name, 0.0, 2e9))
        await ledger.redeem_invite(f"h-{name}", MemberRecord(name, f"k-{name}", b"\0" * 32,
                                                             (), 1.0), 1.0)
    await ledger.write(WriteGroup(decisions=[DecisionRecord(
        "block", f"45.33.99.{i}", 2e9, "ssh-bruteforce", names[0], T0 + i,
        evidence=msgspec.json.encode([Contribution(names[0], "ssh-bruteforce", 5, T0 + i - 3,
                                                   T0 + i - 0.5, T0 + i - 0.2)]),
    ) for i in range(1, decisions + 1)]))
    await ledger.journal_append([JournalEntry(JOURNAL_KIND, n, 2.0, msgspec.json.encode(
        Transition(n, 2.0, "unknown", "ok", "all ok"))) for n in names])
    return ledger


async def applied(ledger: SQLiteLedger, member: str, *pairs: tuple[int, float],
                  key: str = "") -> None:
    at = max(t for _, t in pairs) + 1
    await ledger.journal_append([JournalEntry(APPLIED_KIND, key or member, at, encode_record(
        AppliedRecord(member, 0.0, at, pairs)))])


async def test_a_measured_decision_is_final_and_a_long_wait_is_given_up(tmp_path: Path) -> None:
    ledger = await ledger_with(tmp_path, "ab", 2)
    try:
        recent = await ledger.decisions_before(3, 100)
        memo = Remembered()
        await applied(ledger, "a", (1, T0 + 1.1), (2, T0 + 2.1))
        await applied(ledger, "b", (1, T0 + 1.2))
        first = await real_figures(ledger, recent, memo, {}, now=T0 + 10)
        assert first.seqs == (1,) and first.waiting == 1
        assert abs(first.latencies[0] - 0.7) < 1e-6
        # Later reports change nothing measured; b never reports 2: given up, counted.
        await applied(ledger, "b", (1, T0 + 1.15))
        later = await real_figures(ledger, recent, memo, {}, now=T0 + GIVE_UP_AFTER + 10)
        assert later.latencies == first.latencies and later.waiting == 1
        assert memo.given_up == {2}
        # A record journaled under another member's key speaks for nobody.
        await applied(ledger, "b", (2, T0 + 2.2), key="a")
        again = await real_figures(ledger, recent, Remembered(), {}, now=T0 + 10)
        assert again.seqs == (1,) and again.waiting == 1
    finally:
        await ledger.close()


async def test_only_the_newest_real_blocks_are_read_and_drills_never(tmp_path: Path) -> None:
    ledger = await ledger_with(tmp_path, "ab", 3)
    try:
        recent = await ledger.decisions_before(4, 100)
        drill = msgspec.structs.replace(recent[0], cursor=99, drill="d-1")
        lift = msgspec.structs.replace(recent[0], cursor=98, action="lift")
        for m in "ab":
            await applied(ledger, m, (1, T0 + 1.1), (2, T0 + 2.1), (3, T0 + 3.1), (98, T0 + 4),
                          (99, T0 + 4))
        figures = await real_figures(ledger, [*recent, drill, lift], Remembered(), {},
                                     now=T0 + 10)
        assert figures.seqs == (1, 2, 3) and figures.waiting == 0
    finally:
        await ledger.close()
