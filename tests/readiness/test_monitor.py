"""The agent's readiness loop, in process: fake clock for R4, a real hub for the heartbeat."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from shieldwall.agent.config import AgentConfig
from shieldwall.errors import ConfigError
from shieldwall.hub.config import HubConfig
from shieldwall.readiness.alliance_cache import load_answer
from shieldwall.readiness.monitor import Monitor, check_interval
from shieldwall.readiness.stream_report import Following
from shieldwall.readiness.verdict import Thresholds
from shieldwall.signals.member_state import MemberState
from shieldwall.sources import SourceSpec
from tests.integration.hub_harness import init_hub, new_member, running_hub


class Stream:
    connected, cursor, head = True, 0, 0


def config(tmp_path: Path, data: Path) -> AgentConfig:
    log = tmp_path / "auth.log"
    log.write_text("Dec  1 10:00:00 host sshd[1]: Connection closed\n")
    data.mkdir(exist_ok=True)
    return AgentConfig(data_dir=data, backend="none",
                       sources=(SourceSpec(kind="file", pack="sshd", path=str(log)),),
                       readiness=Thresholds(interval=1.0))  # type: ignore[arg-type]


def monitor(cfg: AgentConfig, member: MemberState | None, notes: list[Any],
            clock: Any = time.time, stream: Following | None = None) -> Monitor:
    return Monitor(cfg, member, lambda: stream, lambda e, f: notes.append((e, f)), clock)


async def test_a_source_stale_on_the_fake_clock_degrades_r4_and_is_noted(tmp_path: Path) -> None:
    cfg = config(tmp_path, tmp_path / "member")
    notes: list[Any] = []
    now = [os.stat(tmp_path / "auth.log").st_mtime + 60]
    loop = monitor(cfg, None, notes, clock=lambda: now[0])
    first = await loop.round()
    assert {c.code: c.state for c in first.checks}["R4"] == "ok"
    now[0] += 7 * 3600  # past the default staleness while no usual gap is known
    second = await loop.round()
    r4 = {c.code: c for c in second.checks}["R4"]
    assert r4.state == "degraded" and "7.0h ago" in r4.reason
    assert loop.verdict == second and loop.rounds == 2
    assert [n[1]["checks"]["R4"] for n in notes if n[0] == "readiness"] == ["ok", "degraded"]


async def test_a_round_without_a_change_of_state_notes_nothing(tmp_path: Path) -> None:
    notes: list[Any] = []
    loop = monitor(config(tmp_path, tmp_path / "member"), None, notes)
    await loop.round()
    await loop.round()
    assert len(notes) == 1


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


async def test_each_round_sends_a_heartbeat_and_judges_r5_r6_r8_by_the_answer(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config) as server:
        member = await new_member(hub_config, tmp_path / "member", "alpha")
        cfg = config(tmp_path, tmp_path / "member")
        loop = monitor(cfg, member, [], stream=Stream())
        verdict = await loop.round()
        checks = {c.code: c for c in verdict.checks}
        assert checks["R1"].state == "ok", checks["R1"]
        assert checks["R5"].state == "ok" and "sshd@" in checks["R5"].reason
        assert checks["R6"].state == "ok" and "the hub (±" in checks["R6"].reason
        assert checks["R8"].state == "ok" and "never run one" in checks["R8"].reason
        answer = load_answer(cfg.data_dir)
        assert answer is not None and answer.member == "alpha" and "sshd" in answer.packs
        roster = server.config.app.state.roster.keeper.roster
        # No agent.db here (the agent never ran): R7 is failing, and the roster says so.
        assert roster["alpha"].state == "failing" and "R7 failing" in roster["alpha"].reason
        await loop.round()
        # Round 1: a heartbeat without R5/R8 (no answer yet), then one with them (the
        # answer changed their state); round 2: one heartbeat.
        assert server.config.app.state.roster.keeper.accepted == 3
    stopped = await loop.round()
    await loop.close()
    r1 = {c.code: c for c in stopped.checks}["R1"]
    assert r1.state == "failing" and "unreachable" in r1.reason


def test_an_interval_the_hub_would_refuse_is_a_configuration_error() -> None:
    check_interval(1.0)
    check_interval(3600.0)
    for wrong in (0.5, 3601.0):
        with pytest.raises(ConfigError, match="interval"):
            check_interval(wrong)


async def test_a_hub_older_than_heartbeats_is_still_probed_for_r1(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config) as server:
        app = server.config.app
        # The hub of an earlier release: the same app without the heartbeat route.
        app.router.routes = [r for r in app.router.routes
                             if getattr(r, "path", "") != "/v1/heartbeat"]
        member = await new_member(hub_config, tmp_path / "member", "alpha")
        loop = monitor(config(tmp_path, tmp_path / "member"), member, [], stream=Stream())
        await loop.round()
        checks = {c.code: c for c in (await loop.round()).checks}
        await loop.close()
    assert checks["R1"].state == "ok", checks["R1"]
    assert checks["R5"].state == "degraded" and "no heartbeat answer" in checks["R5"].reason


async def test_a_round_carries_the_applied_blocks_and_forgets_them_once_taken(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    from shieldwall.readiness.applied import APPLIED_KIND, decode_record

    async with running_hub(hub_config) as server:
        member = await new_member(hub_config, tmp_path / "member", "alpha")
        loop = monitor(config(tmp_path, tmp_path / "member"), member, [], stream=Stream())
        loop.applied.record(0, time.time() - 0.5)  # seq 0: at or below any head
        await loop.round()
        stored = await server.config.app.state.hub.ledger.journal(APPLIED_KIND, key="alpha")
        await loop.close()
    assert len(loop.applied) == 0
    record = decode_record(stored[0].body)
    assert record is not None and [seq for seq, _ in record.applied] == [0]


async def test_a_hub_older_than_the_applied_field_still_takes_the_heartbeat(
    hub_config: HubConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shieldwall.hub.roster_api as roster_api
    from shieldwall.errors import SignalError

    real = roster_api.decode_heartbeat
    bodies: list[bytes] = []

    def old_hub(raw: bytes, signer: str, last_at: float | None) -> Any:
        bodies.append(raw)
        if b'"applied"' in raw:  # what forbid_unknown_fields does on a hub before the field
            raise SignalError("malformed", "heartbeat: Object contains unknown field `applied`")
        return real(raw, signer, last_at)

    monkeypatch.setattr(roster_api, "decode_heartbeat", old_hub)
    async with running_hub(hub_config):
        member = await new_member(hub_config, tmp_path / "member", "alpha")
        loop = monitor(config(tmp_path, tmp_path / "member"), member, [], stream=Stream())
        loop.applied.record(0, time.time())
        verdict = await loop.round()
        loop.applied.record(0, time.time())
        await loop.round()
        await loop.close()
    assert {c.code: c.state for c in verdict.checks}["R1"] == "ok"
    assert b'"applied"' in bodies[0] and all(b'"applied"' not in b for b in bodies[1:])
