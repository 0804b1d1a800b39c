"""``shieldwall hub readiness``: the roster read back from the ledger's journal."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from click.testing import CliRunner

from shieldwall.cli.hub_readiness import readiness
from shieldwall.readiness.heartbeat import CheckReport, Heartbeat, encode
from shieldwall.readiness.verdict import State
from shieldwall.signals.client import HubClient
from shieldwall.signals.member_state import MemberState
from tests.integration.hub_harness import init_hub, new_member, running_hub


async def send(member: MemberState, state: State) -> None:
    beat = Heartbeat(member=member.name, at=time.time(), interval=30.0,
                     checks=(CheckReport("R3", "enforcer verified", state, f"table {state}"),))
    async with HubClient(member) as client:
        await client.request("POST", "/v1/heartbeat", encode(beat))


def test_the_roster_lists_every_member_with_its_state_and_exits_1_when_one_is_not_ok(
    tmp_path: Path,
) -> None:
    config = init_hub(tmp_path / "hub")

    async def alliance() -> None:
        async with running_hub(config):
            alpha = await new_member(config, tmp_path / "a", "alpha")
            beta = await new_member(config, tmp_path / "b", "beta")
            await new_member(config, tmp_path / "c", "gamma")
            await send(alpha, "ok")
            await send(beta, "failing")

    asyncio.run(alliance())
    result = CliRunner().invoke(readiness, ["--json", "--data", str(config.data_dir)])
    rows = {r["member"]: r for r in map(json.loads, result.output.splitlines())}
    assert result.exit_code == 1
    assert {n: r["state"] for n, r in rows.items()} == {
        "alpha": "ok", "beta": "failing", "gamma": "unknown"}
    assert rows["beta"]["reason"] == "R3 failing: table failing" and rows["beta"]["counts"]
    text = CliRunner().invoke(readiness, ["--data", str(config.data_dir)]).output
    assert "gamma" in text and "no heartbeat yet" in text


def test_an_alliance_whose_members_are_all_ok_exits_0(tmp_path: Path) -> None:
    config = init_hub(tmp_path / "hub")

    async def alliance() -> None:
        async with running_hub(config):
            await send(await new_member(config, tmp_path / "a", "alpha"), "ok")

    asyncio.run(alliance())
    assert CliRunner().invoke(readiness, ["--data", str(config.data_dir)]).exit_code == 0
