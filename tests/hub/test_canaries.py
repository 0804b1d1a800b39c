"""The hub's secret canaries file."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.errors import ConfigError
from shieldwall.hub.canaries import CANARY_FILE, load_canaries, parse_canaries
from shieldwall.hub.config import HubConfig


def test_canaries_are_read_from_the_hub_data_folder_and_reach_the_policy(tmp_path: Path) -> None:
    (tmp_path / CANARY_FILE).write_text("# secret\n198.51.100.7 monitor\n203.0.113.0/28\n")
    canaries = load_canaries(tmp_path)
    assert len(canaries) == 2 and canaries.covers("203.0.113.5")
    assert HubConfig(data_dir=tmp_path).policy().canaries.covers("198.51.100.7")


def test_no_file_means_no_canaries(tmp_path: Path) -> None:
    assert len(load_canaries(tmp_path)) == 0


def test_a_bad_line_is_named_and_a_range_with_host_bits_is_refused() -> None:
    with pytest.raises(ConfigError, match="canary:2"):
        parse_canaries("198.51.100.7\nnonsense\n")
    with pytest.raises(ConfigError):
        parse_canaries("198.51.100.7/24")
