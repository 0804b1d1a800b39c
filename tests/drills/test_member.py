"""The member's drill task against a real hub: it runs what the hub signed, refuses the rest.

The enforcer is the in-memory one (the nftables path is proven in tests/e2e/test_drill.py);
everything else is real: the hub over HTTPS, the journal, the signed requests and reports.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from shieldwall.addresses import Ranges
from shieldwall.detection.scenario import default_scenarios
from shieldwall.drills.journal import STAGE, put_order
from shieldwall.drills.member import DrillMember, _State
from shieldwall.drills.order import OrderBody, sign_order
from shieldwall.drills.stage import decode_stage
from shieldwall.enforcers.memory import MemoryEnforcer
from shieldwall.events.packs import load_pack
from shieldwall.hub.config import HubConfig
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.signals.client import HubClient
from shieldwall.signals.keys import new_seed, public_key_of
from shieldwall.signals.member_state import MemberState
from tests.integration.hub_harness import init_hub, ledger_of, new_member, running_hub

pytestmark = pytest.mark.asyncio


def body(**changes: object) -> OrderBody:
    fields: dict[str, object] = {"id": "drill-00aa11bb", "target": "192.0.2.7",
                                 "issued": int(time.time()), "ttl": 60, "members": ("alice",),
                                 "stages": ("detect",)}
    fields.update(changes)
    return OrderBody(**fields)  # type: ignore[arg-type]


def member_of(state: MemberState, notes: list[tuple[str, dict[str, Any]]]) -> DrillMember:
    return DrillMember(member=state, packs=[load_pack("sshd")], scenarios=default_scenarios(),
                       detect_allow=Ranges(), enforce_allow=Ranges(), enforcer=MemoryEnforcer(),
                       clock=time.time, notes=lambda e, f: notes.append((e, f)))


async def stages_of(config: HubConfig) -> list[tuple[str, str, bool, str]]:
    async with ledger_of(config) as ledger:
        found = [decode_stage(e.body).report for e in await ledger.journal(STAGE)]
    return [(r.drill, r.stage, r.ok, r.detail) for r in found]


@pytest.fixture
def config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


async def test_a_hub_signed_order_runs_and_forged_or_replayed_ones_are_refused(
    config: HubConfig, tmp_path: Path,
) -> None:
    seed = (config.data_dir / IDENTITY_FILE).read_bytes()
    notes: list[tuple[str, dict[str, Any]]] = []
    async with running_hub(config):
        alice = await new_member(config, tmp_path / "a", "alice")
        drills = member_of(alice, notes)
        state = _State()
        async with ledger_of(config) as ledger:
            await put_order(ledger, sign_order(seed, body()), time.time())
            await put_order(ledger, sign_order(new_seed(), body(id="drill-00aa11cc")), time.time())
            await put_order(ledger, sign_order(seed, body(id="drill-00aa11dd", target="8.8.8.8")),
                            time.time())
            await put_order(ledger, sign_order(seed, body(id="drill-00aa11ee",
                                                          members=("bob",))), time.time())
        async with HubClient(alice) as hub:
            await drills._round(hub, state)
            await asyncio.gather(*drills.running.tasks.values())  # each drill runs on its own
            assert state.hub_key == public_key_of(seed).hex()  # pinned on first use
            seen = await stages_of(config)
            ran = [(s, ok, detail) for d, s, ok, detail in seen if d == "drill-00aa11bb"]
            assert ran == [("accept", True, ""),
                           ("detect", True, "ssh-bruteforce after 5 sshd lines")]
            refused = {d: detail.split(":")[0] for d, s, ok, detail in seen if not ok}
            assert refused == {"drill-00aa11cc": "signature", "drill-00aa11dd": "target"}
            assert not any(d == "drill-00aa11ee" for d, *_ in seen)  # not named: not its business
            # The same orders again (a hub replaying its journal): nothing runs twice.
            state.after = 0
            await drills._round(hub, state)
            assert len(await stages_of(config)) == len(seen)
            assert ("drill.refused", {"drill": "drill-00aa11bb", "reason": "replay",
                                      "detail": "order drill-00aa11bb was already received"
                                                " here: a replay"}) in notes
    # The seen list survives a restart.
    again = member_of(alice, notes)._load()
    assert "drill-00aa11bb" in again.seen and again.hub_key == state.hub_key


async def test_a_member_under_a_council_refuses_orders_while_it_cannot_verify_the_act_log(
    config: HubConfig, tmp_path: Path,
) -> None:
    # The member pinned a charter this hub does not serve (a hub swapped, or its council
    # folder gone): it cannot tell who chairs, so it runs nothing, the hub's orders included.
    from shieldwall.agent.council_gate import save_pinned

    seed = (config.data_dir / IDENTITY_FILE).read_bytes()
    notes: list[tuple[str, dict[str, Any]]] = []
    async with running_hub(config):
        alice = await new_member(config, tmp_path / "a", "alice")
        save_pinned(alice.data_dir, "ab" * 32)
        drills = member_of(alice, notes)
        async with ledger_of(config) as ledger:
            await put_order(ledger, sign_order(seed, body()), time.time())
        async with HubClient(alice) as hub:
            await drills._round(hub, _State())
        seen = await stages_of(config)
    assert [(s, ok) for _, s, ok, _ in seen] == [("accept", False)]
    assert seen[0][3].startswith("council: this member could not verify the council's act log")
    assert [f["reason"] for e, f in notes if e == "drill.refused"] == ["council"]
