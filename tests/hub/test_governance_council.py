"""The hub's council helpers on files: the never-block digest, attaching a council, the gate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.errors import ConfigError, HubError
from shieldwall.hub.config import load_hub_config
from shieldwall.hub.governance_council import attach_council, never_block_sha256, version_for


def test_the_never_block_digest_is_the_one_files_and_refuses_several_or_a_folder(tmp_path: Path) -> None:
    one = tmp_path / "a.txt"
    one.write_text("192.0.2.0/24\n")
    assert never_block_sha256((one,)) == hashlib.sha256(one.read_bytes()).hexdigest()
    assert never_block_sha256(()) == hashlib.sha256(b"").hexdigest()
    with pytest.raises(ConfigError, match="one file"):
        never_block_sha256((one, one))
    with pytest.raises(ConfigError, match="one file"):
        never_block_sha256((tmp_path,))


def test_a_folder_without_a_founded_council_cannot_be_attached(tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    with pytest.raises(ConfigError, match="no founded council"):
        attach_council(tmp_path / "hub", tmp_path / "empty")


def test_a_hub_toml_naming_a_council_without_its_charter_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["hub", "init", "--data", str(tmp_path), "--listen", "127.0.0.1:18443"])
    assert result.exit_code == 0, result.output
    config = load_hub_config(tmp_path)
    assert version_for(config, 0.0) == ""  # no council: decisions name no version
    with (tmp_path / "hub.toml").open("a") as toml:
        toml.write('council = "council"\n')
    with pytest.raises(ConfigError, match="go together"):
        load_hub_config(tmp_path)
    with (tmp_path / "hub.toml").open("a") as toml:
        toml.write(f'charter = "{"0" * 64}"\n')
    with pytest.raises(HubError, match="act log is refused"):
        version_for(load_hub_config(tmp_path), 0.0)  # an empty council folder founds nothing
