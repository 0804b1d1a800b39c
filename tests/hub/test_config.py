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
