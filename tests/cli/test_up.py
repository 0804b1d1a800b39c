"""What `shieldwall up` tells a newcomer: each log it follows, what it cannot, the enforcer and why."""

from __future__ import annotations

from pathlib import Path

from shieldwall.agent.config import parse_agent_config
from shieldwall.cli.up import choose_backend, describe

SSHD_NOT_WATCHED = "sshd is not watched: there is no /var/log/auth.log (fix: install rsyslog)"


def test_auto_picks_nftables_only_as_root_with_nft() -> None:
    assert choose_backend("auto", 0, "/usr/sbin/nft")[0] == "nftables"
    backend, why = choose_backend("auto", 1000, "/usr/sbin/nft")
    assert backend == "memory" and "not root" in why
    backend, why = choose_backend("auto", 0, None)
    assert backend == "memory" and "apt-get install nftables" in why
    assert choose_backend("memory", 0, "/usr/sbin/nft") == ("memory", "chosen with --backend")


def test_each_followed_log_is_named_and_a_missing_one_said_to_be_awaited(tmp_path: Path) -> None:
    present = tmp_path / "auth.log"
    present.touch()
    config = parse_agent_config(
        f'[agent]\ndata_dir = "{tmp_path}"\n'
        f'[[sources]]\nkind = "file"\npath = "{present}"\npack = "sshd"\n'
        f'[[sources]]\nkind = "file"\npath = "{tmp_path / "later.log"}"\npack = "http"\n'
        '[enforce]\nbackend = "memory"\n',
        "agent.toml",
    )
    said = describe(config, tmp_path / "agent.toml", [SSHD_NOT_WATCHED], "not root")
    assert said[0] == f"watching: file:{present} with the sshd pack"
    assert said[1].startswith(f"watching: file:{tmp_path / 'later.log'} with the http pack (not there yet")
    assert not any(line.startswith("sshd is not watched") for line in said)
    assert said[-1] == "enforcer: memory (not root)"


def test_a_config_without_an_sshd_source_says_sshd_is_not_watched(tmp_path: Path) -> None:
    config = parse_agent_config(f'[agent]\ndata_dir = "{tmp_path}"\n', "agent.toml")
    said = describe(config, tmp_path / "agent.toml", [SSHD_NOT_WATCHED], "why")
    assert said[0] == f"watching: nothing; add [[sources]] tables to {tmp_path / 'agent.toml'}"
    assert SSHD_NOT_WATCHED in said
    said = describe(config, tmp_path / "agent.toml", [], "why")
    assert any(line.startswith("sshd is not watched: no source") for line in said)
