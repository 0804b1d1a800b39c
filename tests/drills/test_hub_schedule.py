"""Scheduled drills: hub.toml's period without a council; under one, only the chair's standing order.

Against a real SQLite ledger and a council built through the real governance API
(tests/governance/conftest.py); the clock is moved by hand.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from shieldwall.drills.authority import signer_key
from shieldwall.drills.hub_schedule import STANDING, Schedule, latest_standing, schedule_off
from shieldwall.drills.journal import ORDER, read_order
from shieldwall.drills.order import StandingBody, StandingOrder, sign_standing
from shieldwall.governance.standing import Standing
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.storage import JournalEntry, Ledger
from tests.drills.test_authority import DAY, HUB, HUB_SEED, NOW, council_of
from tests.governance.conftest import Keys
from tests.integration.hub_harness import init_hub, ledger_of, new_member, running_hub


def standing_order(keys: Keys, by: str, expires: int = NOW + 10 * DAY) -> StandingOrder:
    body = StandingBody(id="standing-00aa11bb", issued=NOW - DAY, expires=expires, every=3600,
                        members=("alice",), stages=("detect", "signal"), ttl=60)
    return sign_standing(keys.seed(by), body)


def test_without_a_council_the_period_is_hub_tomls() -> None:
    assert schedule_off(600.0, None, False, None, NOW) == (600.0, None)
    assert schedule_off(0.0, None, False, None, NOW) == (0.0, "hub.toml sets no drill_every")


def test_under_a_council_scheduled_drills_are_off_and_say_why_until_the_chair_signs() -> None:
    keys = Keys()
    council = council_of(keys)
    unread = schedule_off(600.0, None, True, None, NOW)
    assert unread[0] == 0 and "act log" in (unread[1] or "")
    missing = schedule_off(600.0, council, True, None, NOW)
    assert missing[0] == 0 and "shieldwall drill standing" in (missing[1] or "")
    carol = schedule_off(600.0, council, True, standing_order(keys, "carol"), NOW)
    assert carol[0] == 0 and "carol, who is not the chair" in (carol[1] or "")
    lapsed = schedule_off(600.0, council, True, standing_order(keys, "bob", NOW - 1), NOW)
    assert lapsed[0] == 0 and "expired" in (lapsed[1] or "")
    # The standing order's period runs, not hub.toml's.
    assert schedule_off(600.0, council, True, standing_order(keys, "bob"), NOW) == (3600.0, None)


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


async def install(ledger: Ledger, order: StandingOrder) -> None:
    await ledger.journal_append([JournalEntry(STANDING, order.body.id, NOW,
                                              msgspec.json.encode(order))])


async def test_the_hub_schedules_under_the_chairs_standing_order_and_members_accept_it(
        hub_config: HubConfig, tmp_path: Path) -> None:
    keys = Keys()
    council: Standing = council_of(keys)
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "alice")
        await new_member(hub_config, tmp_path / "b", "bob")
    now = [float(NOW)]
    async with ledger_of(hub_config) as ledger:
        schedule = Schedule(ledger, lambda: now[0], 0.0, HUB_SEED, lambda: council)
        schedule.last_order_at = now[0] - 7200
        await schedule.tick()
        assert await ledger.journal(ORDER) == [] and "standing order" in (schedule.off or "")
        await install(ledger, standing_order(keys, "carol"))
        assert (await latest_standing(ledger)) is not None
        now[0] += 6  # the hub re-reads the installed standing order every 5 s
        await schedule.tick()
        assert await ledger.journal(ORDER) == [] and "carol" in (schedule.off or "")
        await install(ledger, standing_order(keys, "bob"))
        now[0] += 6
        await schedule.tick()
        assert schedule.off is None
        (entry,) = await ledger.journal(ORDER)
        await schedule.tick()  # within the period: nothing more
        assert len(await ledger.journal(ORDER)) == 1
    order = read_order(entry)
    assert order is not None and order.standing is not None
    assert order.body.issuer == "standing" and order.body.members == ("alice",)
    assert order.body.stages == ("detect", "signal") and order.body.ttl == 60
    # What a member checks: the hub's key, under bob's standing order.
    assert signer_key(order, council, HUB, now[0]) == next(iter(HUB.values()))
