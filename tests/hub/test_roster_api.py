"""``POST /v1/heartbeat`` on a real hub (HTTPS on loopback; SQLite, and PostgreSQL with one
replica that leads): the roster, its journal, the quorum hook, and every hostile heartbeat
refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from shieldwall.hub.config import HubConfig
from shieldwall.hub.roster import JOURNAL_KIND, Transition
from shieldwall.hub.roster_api import RosterContext
from shieldwall.hub.roster_keeper import RosterKeeper
from shieldwall.readiness.heartbeat import (
    MAX_HEARTBEAT_BODY,
    CheckReport,
    Heartbeat,
    decode_answer,
    encode,
)
from shieldwall.readiness.verdict import State
from shieldwall.signals.client import HubClient
from shieldwall.signals.keys import new_seed
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import backend_hub, ledger_of, new_member, running_hub
from tests.integration.pg_cluster import pg_cluster_fixture

PROBE = "45.13.7.77"


cluster = pg_cluster_fixture()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    """The same hub on each backend (on PostgreSQL: one replica, which leads)."""
    config = backend_hub(request, tmp_path / "hub")
    with (config.data_dir / "hub.toml").open("a") as toml:
        toml.write('readiness_grace = "5s"\n')
    # Quorums wait for their members here (not a trusted member's provisional block).
    policy = config.data_dir / "policy.toml"
    policy.write_text(policy.read_text().replace("solo_quorum = true", "solo_quorum = false"))
    from shieldwall.hub.config import load_hub_config

    return load_hub_config(config.data_dir)


def beat(member: str, state: State = "ok", at: float | None = None) -> bytes:
    checks = (CheckReport("R1", "hub link", "ok", "fine"),
              CheckReport("R3", "enforcer verified", state, f"table is {state}"))
    return encode(Heartbeat(member=member, at=at or time.time(), interval=5.0, checks=checks))


def roster(server: Any) -> RosterContext:
    context: RosterContext = server.config.app.state.roster
    return context


async def post(state: MemberState, body: bytes, headers: dict[str, str] | None = None
               ) -> httpx.Response:
    sent = headers if headers is not None else sign_request(
        state.seed, state.key_id, "POST", "/v1/heartbeat", time.time(), body)
    async with httpx.AsyncClient(base_url=state.base_url, verify=state.ssl_context()) as http:
        return await http.post("/v1/heartbeat", content=body, headers=sent)


async def test_a_heartbeat_enters_the_roster_and_its_transition_the_journal(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        answer = await post(alice, beat("alice", "failing"))
        assert answer.status_code == 200, answer.text
        told = decode_answer(answer.content)
        assert told.state == "failing" and "sshd" in told.packs and told.policy
        assert abs(told.at - time.time()) < 60
        assert (await post(alice, beat("alice", "failing"))).status_code == 200
        entry = roster(server).keeper.roster["alice"]
        assert entry.state == "failing" and "R3 failing: table is failing" in entry.reason
        async with httpx.AsyncClient(verify=False) as http:
            scraped = (await http.get(f"https://{hub_config.listen}/metrics")).text
        assert 'shieldwall_member_ready{member="alice"} 0' in scraped
        assert 'shieldwall_member_check{member="alice",check="R3"} 2' in scraped
    async with ledger_of(hub_config) as ledger:
        stored = await ledger.journal(JOURNAL_KIND, key="alice")
    moves = [msgspec.json.decode(s.body, type=Transition) for s in stored]
    assert [(t.before, t.after) for t in moves] == [("unknown", "failing")]


async def test_the_roster_survives_a_restart_of_the_hub(hub_config: HubConfig, tmp_path: Path
                                                       ) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        assert (await post(alice, beat("alice", "degraded"))).status_code == 200
    async with running_hub(hub_config) as server:
        assert roster(server).keeper.roster["alice"].state == "degraded"


def signals(scenario: str = "http-probing") -> list[Signal]:
    return [Signal(kind="detection", target=PROBE, scenario=scenario, count=20,
                   evidence=(f'{PROBE} - - "GET /.env HTTP/1.1" 404',))]


async def test_a_not_ready_members_report_does_not_complete_a_quorum_until_it_is_ready(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    shift = [0.0]

    def clock() -> float:
        return time.time() + shift[0]

    async with running_hub(hub_config, clock=clock) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        assert (await post(alice, beat("alice", "failing"))).status_code == 200
        assert (await post(bob, beat("bob", "ok"))).status_code == 200
        keeper: RosterKeeper = roster(server).keeper
        assert keeper.discounted == frozenset()  # failing, but within its grace
        shift[0] = 6.0  # past the 5 s grace (the envelopes' freshness allows 60 s)
        await keeper.sweep_once()
        assert keeper.discounted == {"alice"}
        async with HubClient(bob) as b, HubClient(alice) as a:
            assert (await b.send(signals())).decisions == ()
            assert (await a.send(signals())).decisions == ()  # 2 seen, 1 counted
            answer = await post(alice, beat("alice", "ok", at=time.time() + 1))
            assert decode_answer(answer.content).counts
            assert keeper.discounted == frozenset()
            assert len((await a.send(signals())).decisions) == 1  # the next report decides


async def test_hostile_heartbeats_are_refused_and_leave_the_roster_alone(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        await new_member(hub_config, tmp_path / "b", "bob")
        keeper = roster(server).keeper
        good = beat("alice")
        assert (await post(alice, good)).status_code == 200
        before = keeper.roster["alice"]

        async def refused(body: bytes, headers: dict[str, str] | None = None) -> str:
            answer = await post(alice, body, headers)
            assert answer.status_code >= 400, answer.text
            return str(answer.json()["reason"])

        # Replay: the same signed bytes again (fresh request signature, same heartbeat).
        assert await refused(good) == "replayed"
        # Signed by a key that is not alice's.
        forged = sign_request(new_seed(), alice.key_id, "POST", "/v1/heartbeat", time.time(),
                              beat("alice"))
        assert await refused(beat("alice"), forged) == "forged"
        # Alice speaking for bob.
        assert await refused(beat("bob", "failing")) == "forged"
        # A field the schema does not know.
        extra = msgspec.json.decode(beat("alice"))
        extra["admin"] = True
        assert await refused(msgspec.json.encode(extra)) == "malformed"
        # Unsigned, and a body other than the one signed.
        assert await refused(beat("alice"), {}) == "unsigned"
        swapped = sign_request(alice.seed, alice.key_id, "POST", "/v1/heartbeat", time.time(),
                               beat("alice"))
        assert await refused(beat("alice", "failing"), swapped) == "altered"
        # Too large to be a heartbeat.
        assert await refused(b"{" + b" " * MAX_HEARTBEAT_BODY + b"}") == "too-large"
        assert keeper.roster["alice"] == before and "bob" not in keeper.roster
        assert keeper.refused["replayed"] == 1 and keeper.refused["forged"] == 2


async def test_the_answer_carries_the_members_last_drill_and_a_new_report_is_seen(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    from shieldwall.drills.report import DrillReport, MemberResult
    from shieldwall.hub.ledger.storage import JournalEntry
    from shieldwall.hub.roster_api import DRILL_RECHECK, DRILL_REPORT_KIND

    shift = [0.0]
    async with running_hub(hub_config, clock=lambda: time.time() + shift[0]) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        first = decode_answer((await post(alice, beat("alice"))).content)
        assert first.drill.alliance_last is None  # never drilled: R8 says "no drill yet"
        looked: list[str] = []
        real = roster(server).drills

        async def counting(member: str) -> Any:
            looked.append(member)
            return await real(member)

        roster(server).drills = counting
        report = DrillReport(id="d-1", target="192.0.2.9", issuer="operator", issued=1.0,
                             started=2.0, finished=3.0, passed=False, stages=("enforce",),
                             members=(MemberResult("alice", False, (), why="enforce: no table"),))
        ledger = server.config.app.state.hub.ledger
        await ledger.journal_append([JournalEntry(DRILL_REPORT_KIND, "d-1", 3.0,
                                                  msgspec.json.encode(report))])
        shift[0] = DRILL_RECHECK + 1  # the next heartbeat looks for new reports
        second = decode_answer((await post(alice, beat("alice", at=time.time() + 1))).content)
        third = decode_answer((await post(alice, beat("alice", at=time.time() + 2))).content)
    assert second.drill.passed is False and second.drill.id == "d-1"
    assert "no table" in second.drill.detail and second.drill.alliance_last == 3.0
    assert third.drill == second.drill and looked == ["alice"]  # remembered, not re-read


async def test_applied_reports_are_journaled_on_the_hubs_clock_for_every_replica(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    from shieldwall.readiness.applied import (
        APPLIED_EVERY,
        APPLIED_KIND,
        HEAD_SLACK,
        decode_record,
    )

    shift = [0.0]
    async with running_hub(hub_config, clock=lambda: time.time() + shift[0]) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            await client.send([Signal(kind="ban", target=PROBE, scenario="manual",
                                      duration=60.0)])
        hub = server.config.app.state.hub
        for _ in range(200):
            if hub.feed.head >= 1:
                break
            await asyncio.sleep(0.05)
        head = hub.feed.head
        assert head >= 1
        # Alice's clock runs 100 s ahead of the hub's.
        sent = time.time() + 100.0
        checks = (CheckReport("R1", "hub link", "ok", "fine"),)
        body = encode(Heartbeat(member="alice", at=sent, interval=5.0, checks=checks,
                                applied=((head, sent - 0.5), (head, sent - 0.1),
                                         (head + HEAD_SLACK + 1, sent - 0.2), (head, sent + 50.0))))
        assert (await post(alice, body)).status_code == 200
        # A second report at once: over the member's budget, not journaled.
        again = encode(Heartbeat(member="alice", at=sent + 0.01, interval=5.0, checks=checks,
                                 applied=((head, sent),)))
        assert (await post(alice, again)).status_code == 200
        stored = await hub.ledger.journal(APPLIED_KIND, key="alice")
        shift[0] = APPLIED_EVERY + 1
        later = encode(Heartbeat(member="alice", at=sent + 5, interval=5.0, checks=checks,
                                 applied=((head, sent + 4),)))
        assert (await post(alice, later)).status_code == 200
        after = await hub.ledger.journal(APPLIED_KIND, key="alice")
    assert len(stored) == 1
    record = decode_record(stored[0].body)
    assert record is not None and record.member == "alice"
    assert 99.0 < record.skew < 101.0
    # The first report of the seq counts; the unknown seq and the future one are gone.
    assert [seq for seq, _ in record.applied] == [head]
    assert abs(record.applied[0][1] - (record.at - 0.5)) < 0.01
    assert len(after) == 2
