"""Probe of the hub against a real hub over HTTPS on loopback (tests/integration harness)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from shieldwall.hub.config import HubConfig
from shieldwall.readiness.link import StreamView, check_hub
from shieldwall.readiness.probe_hub import ask_hub, hub_date, member_of
from shieldwall.readiness.verdict import Thresholds
from shieldwall.signals.member_state import STATE_FILE
from tests.integration.hub_harness import free_port, hub_context, init_hub, new_member, running_hub


@pytest.fixture
def config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


def test_the_date_header_is_read_as_a_timestamp() -> None:
    assert hub_date("Tue, 01 Dec 2026 20:00:00 GMT") == 1_796_155_200.0
    assert hub_date(None) is None and hub_date("yesterday") is None


def test_a_host_that_never_joined_has_no_member(tmp_path: Path) -> None:
    member, view = member_of(tmp_path)
    assert member is None and view is not None and not view.joined


def test_an_unreadable_member_state_is_an_error(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{")
    member, view = member_of(tmp_path)
    assert member is None and view is not None and view.error is not None


async def test_a_running_hub_answers_with_its_head_and_its_clock(
    tmp_path: Path, config: HubConfig
) -> None:
    async with running_hub(config):
        member = await new_member(config, tmp_path / "m", "alpha")
        stream = StreamView(connected=True, reported_at=time.time())
        view = await ask_hub(member, 0, stream=stream)
    assert (view.error, view.refusal, view.head) == (None, None, 0)
    assert view.date is not None and abs(view.date - time.time()) < 3600
    assert view.sent_at <= view.received_at and view.stream == stream
    assert check_hub(view, time.time(), Thresholds()).state == "ok"


async def test_a_member_whose_key_was_revoked_is_refused(tmp_path: Path, config: HubConfig) -> None:
    async with running_hub(config) as server:
        member = await new_member(config, tmp_path / "m", "alpha")
        await hub_context(server).ledger.revoke_member("alpha", "expelled", time.time())
        view = await ask_hub(member, 0)
    assert view.refusal == "revoked-key"
    assert check_hub(view, time.time(), Thresholds()).state == "failing"


async def test_a_stopped_hub_is_unreachable(tmp_path: Path, config: HubConfig) -> None:
    async with running_hub(config):
        member = await new_member(config, tmp_path / "m", "alpha")
    view = await ask_hub(member, 0, timeout=2.0)
    assert view.error is not None and view.head is None
    check = check_hub(view, time.time(), Thresholds())
    assert check.state == "failing" and "unreachable" in check.reason


async def test_something_else_on_the_hubs_port_is_unreachable_too(
    tmp_path: Path, config: HubConfig
) -> None:
    async with running_hub(config):
        member = await new_member(config, tmp_path / "m", "alpha")
    elsewhere = replace(member, hub=f"127.0.0.1:{free_port()}")
    assert (await ask_hub(elsewhere, 0, timeout=2.0)).error is not None
