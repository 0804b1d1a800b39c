"""``hub.toml``: defaults, durations, and a misspelt key is an error naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shieldwall.errors import ConfigError
from shieldwall.hub.config import load_hub_config, render_hub_config


def hub_dir(tmp_path: Path, text: str) -> Path:
    (tmp_path / "hub.toml").write_text(text)
    return tmp_path


def test_what_hub_init_writes_reads_back(tmp_path: Path) -> None:
    text = render_hub_config("0.0.0.0:9443", "hub.example.org:9443", [], ["192.0.2.0/24"])
    config = load_hub_config(hub_dir(tmp_path, text))
    assert (config.listen, config.public_address, config.allowlist) == (
        "0.0.0.0:9443", "hub.example.org:9443", ("192.0.2.0/24",)
    )
    assert config.heartbeat == 15.0
    assert config.policy_file == tmp_path / "policy.toml"


@pytest.mark.parametrize(("text", "seconds"), [("heartbeat = '30s'", 30.0), ("heartbeat = 5", 5.0),
                                               ("heartbeat = '1m'", 60.0)])
def test_the_heartbeat_is_a_duration_and_plain_seconds_still_work(
    tmp_path: Path, text: str, seconds: float
) -> None:
    assert load_hub_config(hub_dir(tmp_path, text)).heartbeat == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("allow_list = ['192.0.2.1']", "allow_list: unknown key, did you mean `allowlist`?"),
        ("never_blocks = []", "never_blocks: unknown key, did you mean `never_block`?"),
        ("heartbeat = 'soon'", "heartbeat: expected a duration"),
        ("heartbeat = 0", "heartbeat: must be a positive duration"),
        ("page_size = 0", "page_size: must be a whole number >= 1, got 0"),
        ("listen = 8443", "listen: must be a string, got 8443"),
        ("listen = 'host:99999'", "listen: not a host:port"),
        ("allowlist = ['not-an-address']", "allowlist[0]: "),
        ("[policy]\nfile = 'x'", "policy: must be a string"),
    ],
)
def test_a_bad_key_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    data = hub_dir(tmp_path, text)
    with pytest.raises(ConfigError, match="^" + re.escape(f"{data / 'hub.toml'}: {message}")):
        load_hub_config(data)


def test_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="hub init"):
        load_hub_config(tmp_path)


def test_the_hardening_bounds_are_read_from_hub_toml(tmp_path: Path) -> None:
    text = (
        "header_timeout = '5s'\nbody_timeout = '1m'\nbody_budget = 1048576\n"
        "max_connections = 100\nstreams_per_member = 2\nsignals_per_hour = 50\n"
        "retention = '30d'\noperators = ['ops']\n"
    )
    config = load_hub_config(hub_dir(tmp_path, text))
    assert (config.header_timeout, config.body_timeout, config.body_budget) == (5.0, 60.0, 1048576)
    assert (config.max_connections, config.streams_per_member, config.signals_per_hour) == (
        100, 2, 50)
    assert (config.retention, config.operators) == (30 * 86400.0, ("ops",))


@pytest.mark.parametrize(
    ("text", "key"),
    [("header_timeout = 0", "header_timeout"), ("retention = '-1d'", "retention"),
     ("streams_per_member = 0", "streams_per_member"), ("signals_per_hour = -5", "signals_per_hour"),
     ("body_budget = 10", "body_budget")],
)
def test_a_bound_that_would_disable_itself_is_refused(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_hub_config(hub_dir(tmp_path, text))
