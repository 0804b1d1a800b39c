"""``shieldwall demo``: says why without root, and --simulate proves the flow in-process."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli


def test_without_root_the_demo_explains_why_and_offers_simulate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Mocked: the test may run as root, and only the effective uid matters here.
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 3  # the README's "environment" code: this host lacks root
    assert "root" in result.output
    assert "--simulate" in result.output


def test_simulated_demo_blocks_the_attacker_on_every_member() -> None:
    result = CliRunner().invoke(cli, ["demo", "--simulate"])
    assert result.exit_code == 0, result.output
    assert "an attack on a was answered by all" in result.output
    assert "b: ['203.0.113.66'], c: ['203.0.113.66']" in result.output
    timeline = result.output.split("timeline (from a's detection):")[1]
    for member in ("a", "b", "c"):
        assert f"{member}        block applied" in timeline
