"""The agent's configuration: defaults, and errors that name the key to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shieldwall.agent.config import load_agent_config, parse_agent_config
from shieldwall.errors import ConfigError

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "agent.toml"


def test_the_documented_example_parses() -> None:
    config = load_agent_config(DEPLOY)
    assert config.sources[0].path == "/var/log/auth.log"
    assert config.backend == "nftables"


def test_an_empty_file_gives_a_standalone_default() -> None:
    config = parse_agent_config("")
    assert config.sources == ()
    assert config.local_first


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[[sources]]\nkind = 'file'\npack = 'sshd'\n", "sources[0].path"),
        ("[[sources]]\nkind = 'pipe'\npack = 'sshd'\n", "sources[0].kind"),
        ("[[sources]]\nkind = 'file'\npath = '/x'\n", "sources[0].pack"),
        ("[enforce]\nbackend = 'iptables'\n", "enforce.backend"),
        ("[enforce]\nallow = ['not-an-address']\n", "enforce.allow[0]"),
        ("[detection]\nipv6_prefix = 200\n", "detection.ipv6_prefix"),
        ("[agent]\nbatch_size = 0\n", "agent.batch_size"),
        ("[agent\n", "not valid TOML"),
    ],
)
def test_errors_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse_agent_config(text, "agent.toml")


def test_a_missing_file_says_where_an_example_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("deploy/agent.toml")):
        load_agent_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[enforce]\nallow_list = ['192.0.2.1']\n",
         "enforce.allow_list: unknown key, did you mean `allow`?"),
        ("[enforce]\nbacknd = 'memory'\n",
         "enforce.backnd: unknown key, did you mean `backend`?"),
        ("[enforcer]\nbackend = 'memory'\n", "enforcer: unknown key, did you mean `enforce`?"),
        ("[[sources]]\npack = 'sshd'\npaht = '/x'\n",
         r"sources\[0\].paht: unknown key, did you mean `path`?"),
        ("[agent]\ncolour = 'blue'\n",
         r"agent.colour: unknown key \(valid keys: batch_size, data_dir, name\)"),
    ],
)
def test_a_misspelt_key_is_an_error_that_suggests_the_valid_one(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^agent.toml: {message}"):
        parse_agent_config(text, "agent.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[enforce]\ndry_run = 'yes'\n", "enforce.dry_run: must be true or false, got 'yes'"),
        ("[agent]\nbatch_size = 'a'\n", "agent.batch_size: must be a whole number, got 'a'"),
        ("[enforce]\nallow = '192.0.2.1'\n", "enforce.allow: must be a list, got '192.0.2.1'"),
        ("[detection]\nipv6_prefix = 0\n", "detection.ipv6_prefix: must be a whole number >= 1, got 0"),
    ],
)
def test_a_wrong_type_or_out_of_range_value_names_the_key_and_the_value(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^agent.toml: {re.escape(message)}$"):
        parse_agent_config(text, "agent.toml")
