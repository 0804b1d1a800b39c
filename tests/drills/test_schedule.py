"""Scheduled drills: due once a period after the newest order; only documentation targets."""

from __future__ import annotations

from pathlib import Path

from shieldwall.drills.order import target_refusal
from shieldwall.drills.schedule import SCHEDULED_TTL, due, scheduled_order
from shieldwall.hub.config import load_hub_config


def test_a_drill_is_due_once_the_period_passed_since_the_newest_order() -> None:
    assert not due(0.0, None, 1e9)  # off
    assert due(3600.0, None, 1e9)
    assert not due(3600.0, 1e9 - 3599, 1e9) and due(3600.0, 1e9 - 3600, 1e9)


def test_a_scheduled_order_names_every_member_and_a_documentation_address() -> None:
    for host in (0, 1, 253, 254, 10_000):
        body = scheduled_order(["a", "b"], 1e9, "00aa11bb22cc", host)
        assert body is not None and body.members == ("a", "b") and body.ttl == SCHEDULED_TTL
        assert target_refusal(body.target) is None, body.target
        assert body.id == "drill-00aa11bb22cc"
    assert scheduled_order([], 1e9, "00aa11bb22cc", 1) is None


def test_hub_toml_drill_every_is_a_duration_and_off_by_default(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('drill_every = "7d"\n')
    assert load_hub_config(tmp_path).drill_every == 7 * 86400.0
    (tmp_path / "hub.toml").write_text("")
    assert load_hub_config(tmp_path).drill_every == 0.0
