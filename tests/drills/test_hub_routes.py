"""The hub's drill endpoints and desk, against a real hub over HTTPS on loopback.

Hostile members: a stage report naming another member, signed by another key or
malformed is refused before it reaches the journal or the conductor; an order in
the journal not signed by the hub's key is conducted as refused, never decided.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest

from shieldwall.drills.hub_desk import DrillDesk
from shieldwall.drills.hub_routes import OrdersPage
from shieldwall.drills.journal import ORDER, REPORT, STAGE, put_order, read_order, read_report
from shieldwall.drills.order import OrderBody, sign_order
from shieldwall.drills.stage import StageReport, sign_stage
from shieldwall.errors import SignalError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.signals.client import HubClient
from shieldwall.signals.keys import new_seed, public_key_of
from tests.integration.hub_harness import init_hub, ledger_of, new_member, running_hub

pytestmark = pytest.mark.asyncio


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


def order_body(members: tuple[str, ...], **changes: object) -> OrderBody:
    fields: dict[str, object] = {"id": "drill-00aa11bb", "target": "192.0.2.7",
                                 "issued": int(time.time()), "ttl": 60, "members": members,
                                 "stages": ("detect",)}
    fields.update(changes)
    return OrderBody(**fields)  # type: ignore[arg-type]


def stage(member: str) -> StageReport:
    now = time.time()
    return StageReport(drill="drill-00aa11bb", member=member, stage="accept", ok=True,
                       started=now, at=now)


async def test_stage_reports_are_refused_unless_the_member_signed_its_own(
    hub_config: HubConfig, tmp_path: Path,
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        await new_member(hub_config, tmp_path / "b", "bob")
        async with HubClient(alice) as hub:
            good = sign_stage(alice.seed, stage("alice"))
            cases = {
                "for bob": [sign_stage(alice.seed, stage("bob"))],
                "another key": [sign_stage(new_seed(), stage("alice"))],
                "one forged among good ones": [good, sign_stage(alice.seed, stage("bob")), good],
            }
            for signed in cases.values():
                with pytest.raises(SignalError, match="403 forged"):
                    await hub.request("POST", "/v1/drills/stages", msgspec.json.encode(signed))
            for raw in (b"{}", b"[]", b"[1,2]", b'{"report": 1}', b"\xff" * 100,
                        msgspec.json.encode(good), msgspec.json.encode([good] * 9)):
                with pytest.raises(SignalError, match="400 malformed"):
                    await hub.request("POST", "/v1/drills/stages", raw)
            response = await hub.request("POST", "/v1/drills/stages", msgspec.json.encode([good]))
            assert response.status_code == 200
    async with ledger_of(hub_config) as ledger:
        stored = await ledger.journal(STAGE)
        assert len(stored) == 1 and b'"member":"alice"' in stored[0].body


async def test_orders_are_served_with_the_hub_key_and_only_the_hubs_are_decided(
    hub_config: HubConfig, tmp_path: Path,
) -> None:
    seed = (hub_config.data_dir / IDENTITY_FILE).read_bytes()
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with ledger_of(hub_config) as ledger:
            await put_order(ledger, sign_order(new_seed(), order_body(("alice",))), time.time())
            await put_order(ledger, sign_order(seed, order_body(("alice",), id="drill-00aa11cc")),
                            time.time())
        async with HubClient(alice) as hub:
            response = await hub.request("GET", "/v1/drills/orders?after=0")
            assert response.status_code == 200
            page = msgspec.json.decode(response.content, type=OrdersPage)
            assert page.hub_key == public_key_of(seed).hex() and len(page.orders) == 2
            for bad in ("after=-1", "after=x", "after=" + "9" * 30, "wait=9", "wait=-1",
                        "wait=0.5"):
                with pytest.raises(SignalError, match="400 bad-request"):
                    await hub.request("GET", f"/v1/drills/orders?{bad}")
            # The hub-signed order runs; the stranger's is conducted as refused (never
            # decided): alice's word on each finishes it.
            now = time.time()
            for drill, name, ok in (("drill-00aa11cc", "accept", True),
                                    ("drill-00aa11cc", "detect", True),
                                    ("drill-00aa11bb", "accept", False)):
                report = StageReport(drill=drill, member="alice", stage=name,
                                     ok=ok, started=now, at=now)
                await hub.request("POST", "/v1/drills/stages",
                                  msgspec.json.encode([sign_stage(alice.seed, report)]))
        async with ledger_of(hub_config) as ledger:
            for _ in range(100):
                reports = await ledger.journal(REPORT)
                if len(reports) == 2:
                    break
                await asyncio.sleep(0.05)
            found = {r.key: read_report(r) for r in reports}
            good, forged = found["drill-00aa11cc"], found["drill-00aa11bb"]
            assert good is not None and good.passed and not good.aborted
            assert forged is not None and not forged.passed and forged.decision == 0
            assert forged.aborted.startswith("refused by the hub: the order is signed by key")


async def test_the_desk_skips_orders_older_than_itself(hub_config: HubConfig) -> None:
    seed = (hub_config.data_dir / IDENTITY_FILE).read_bytes()
    async with ledger_of(hub_config) as ledger:
        await put_order(ledger, sign_order(seed, order_body(("alice",))), time.time())
        desk = DrillDesk(ledger, None, public_key_of(seed), time.time)  # type: ignore[arg-type]
        await desk.start()
        await desk.poll()
        assert desk.running == {}
        await put_order(ledger, sign_order(seed, order_body(("alice",), id="drill-00aa11dd")),
                        time.time())
        await desk.poll()
        assert list(desk.running) == ["drill-00aa11dd"]


async def test_the_desk_orders_a_scheduled_drill_once_a_period(hub_config: HubConfig,
                                                               tmp_path: Path) -> None:
    seed = (hub_config.data_dir / IDENTITY_FILE).read_bytes()
    now = [time.time()]
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "alice")
    async with ledger_of(hub_config) as ledger:
        desk = DrillDesk(ledger, None, public_key_of(seed), lambda: now[0],  # type: ignore[arg-type]
                         every=3600.0, seed=seed)
        await desk.start()
        await desk.schedule()
        assert await ledger.journal(ORDER) == []  # never drilled: one period after start
        now[0] += 3600.0
        await desk.schedule()
        await desk.schedule()  # the same period: nothing more
        (entry,) = await ledger.journal(ORDER)
        order = read_order(entry)
        assert order is not None and desk.trusted(order) and order.body.members == ("alice",)


async def test_a_drill_decision_names_the_policy_the_hub_decides_under(hub_config: HubConfig) -> None:
    # Under a council, members refuse decisions naming no signed policy: drills' included.
    from shieldwall.decisions.feed import Feed
    from shieldwall.drills.conduct import Decide

    seed = (hub_config.data_dir / IDENTITY_FILE).read_bytes()
    async with ledger_of(hub_config) as ledger:
        feed = Feed(ledger.decisions_after)
        await feed.start(await ledger.head())
        desk = DrillDesk(ledger, feed, public_key_of(seed), time.time, policy=lambda: "v1:" + "ab" * 32)
        await desk.start()
        await put_order(ledger, sign_order(seed, order_body(("alice",), id="drill-00aa11ee")),
                        time.time())
        await desk.poll()
        await desk.execute("drill-00aa11ee", [Decide("drill-00aa11ee", "192.0.2.7", time.time() + 60)])
        (decision,) = await ledger.decisions_after(0, 10)
        assert (decision.drill, decision.policy) == ("drill-00aa11ee", "v1:" + "ab" * 32)
        feed.close()


async def test_a_closed_desk_answers_waiting_and_later_long_polls_at_once(
        hub_config: HubConfig) -> None:
    seed = (hub_config.data_dir / IDENTITY_FILE).read_bytes()
    async with ledger_of(hub_config) as ledger:
        desk = DrillDesk(ledger, None, public_key_of(seed), time.time)  # type: ignore[arg-type]
        await desk.start()
        waiting = asyncio.ensure_future(desk.wait_orders(desk.orders_seen, 300))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # a long poll holds while nothing comes
        desk.close()  # hub shutdown
        await asyncio.wait_for(waiting, 5)
        await desk.poll()  # an order picked up after close must not re-arm the wait
        await asyncio.wait_for(desk.wait_orders(desk.orders_seen, 300), 5)
