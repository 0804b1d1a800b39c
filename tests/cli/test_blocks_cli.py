"""``ban``/``unban``/``blocks``/``import``/``enforce --dry-run`` on a temporary data dir.

These runs pass ``--no-firewall`` or hide nft, so they need no root; the same
commands against a real table run in tests/integration/test_nftables_netns.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldwall.cli import blocks as blocks_module
from shieldwall.cli.blocks import alliance_link, parse_duration
from shieldwall.cli.main import cli
from shieldwall.enforcers.store import BlockStore
from shieldwall.errors import ConfigError, ShieldwallError
from shieldwall.signals.signal import Signal
from tests.conftest import shared_data


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    if isinstance(result.exception, ShieldwallError):
        return 2, result.stdout, str(result.exception)  # as main() reports it
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("4h", 14400),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("45", 45),
        ("0.5h", 1800),
        ("forever", math.inf),
    ],
)
def test_durations_are_read_in_human_units(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "4x", "h", "-5", "4h ago", "nan", "1h-30m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


def test_ban_is_stored_exported_and_listed_then_unbanned(tmp_path: Path) -> None:
    code, out, _ = run(
        "ban",
        "203.0.113.7",
        "--for",
        "4h",
        "--reason",
        "stuffing",
        "--no-firewall",
        "--data-dir",
        str(tmp_path),
    )
    assert code == 0 and "banned 203.0.113.7 until" in out
    block = BlockStore.open(tmp_path).get("203.0.113.7")
    assert block is not None and block.origin == "operator" and block.reason == "stuffing"
    assert (tmp_path / "exports" / "blocklist.txt").read_text() == "203.0.113.7\n"
    code, out, _ = run("blocks", "--json", "--data-dir", str(tmp_path))
    assert json.loads(out)["target"] == "203.0.113.7"
    code, out, _ = run("unban", "203.0.113.7", "--no-firewall", "--data-dir", str(tmp_path))
    assert code == 0 and "unbanned 203.0.113.7:" in out
    assert BlockStore.open(tmp_path).active(0.0) == {}
    assert (tmp_path / "exports" / "blocklist.txt").read_text() == ""


def test_ban_of_a_protected_address_is_refused(tmp_path: Path) -> None:
    resolvers = shared_data("public-dns-resolvers", "public_dns_resolvers.txt")
    code, _, err = run(
        "ban", "8.8.8.0/24", "--no-firewall", "--data-dir", str(tmp_path), "--never-block", str(resolvers)
    )
    assert code == 2 and "protected by public_dns_resolvers.txt" in err
    assert BlockStore.open(tmp_path).active(0.0) == {}


def test_ban_of_garbage_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("ban", "evil.example", "--no-firewall", "--data-dir", str(tmp_path))
    assert code == 2 and "not an IP address" in err


def test_import_refuses_the_66_allowlisted_ipsum_entries_and_says_why(tmp_path: Path) -> None:
    feed = shared_data("ipsum", "ipsum.txt")
    allow = sorted(shared_data("ipranges-allowlist").glob("*.txt"))
    args = ["import", str(feed), "--no-firewall", "--data-dir", str(tmp_path)]
    for path in allow:
        args += ["--never-block", str(path)]
    code, out, _ = run(*args)
    assert code == 0
    assert "accepted 120364, refused 66" in out
    assert "refused 34: protected (googlebot_ipv4.txt)" in out
    assert len(BlockStore.open(tmp_path).active(0.0)) == 120_364


def test_import_dry_run_changes_nothing(tmp_path: Path) -> None:
    feed = tmp_path / "list.txt"
    feed.write_text("45.0.0.1\n10.0.0.1\n")
    code, out, _ = run("import", str(feed), "--dry-run", "--data-dir", str(tmp_path / "d"))
    assert code == 0 and "refused 1: private or reserved" in out
    assert BlockStore.open(tmp_path / "d").active(0.0) == {}


def test_without_nftables_the_error_says_what_to_install(tmp_path: Path) -> None:
    code, _, err = run(
        "ban", "45.0.0.1", "--backend", "command", "--data-dir", str(tmp_path), env={"PATH": str(tmp_path)}
    )
    assert code != 0 and "apt-get install nftables" in err and "--no-firewall" in err


def test_dry_run_without_nftables_shows_the_full_build(tmp_path: Path) -> None:
    run("ban", "45.0.0.1", "--no-firewall", "--data-dir", str(tmp_path))
    code, out, err = run(
        "enforce",
        "apply",
        "--dry-run",
        "--backend",
        "command",
        "--data-dir",
        str(tmp_path),
        env={"PATH": str(tmp_path)},
    )
    assert code == 0
    assert "# would rebuild table, add 1, remove 0" in out
    assert "add element inet shieldwall block_v4 { 45.0.0.1 timeout" in out
    assert "cannot read the current table" in err


def test_host_without_membership_has_no_alliance_link(tmp_path: Path) -> None:
    assert alliance_link(tmp_path) is None


def test_on_an_alliance_member_a_ban_becomes_a_ban_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in for the hub client (the signed round trip is tested with the hub).
    sent: list[Signal] = []
    monkeypatch.setattr(blocks_module, "alliance_link", lambda directory: sent.append)
    code, out, _ = run(
        "ban", "45.0.0.1", "--for", "2h", "--reason", "r", "--no-firewall", "--data-dir", str(tmp_path)
    )
    assert code == 0 and "ban signalled to the hub" in out
    run("unban", "45.0.0.1", "--no-firewall", "--data-dir", str(tmp_path))
    assert [(s.kind, s.target, s.duration, s.reason) for s in sent] == [
        ("ban", "45.0.0.1", 7200.0, "r"),
        ("retract", "45.0.0.1", 0.0, ""),
    ]


def test_dry_run_output_cuts_long_element_lists() -> None:
    from shieldwall.cli.enforce import abbreviate

    batch = "add element inet shieldwall block_v4 { " + ", ".join(f"45.0.0.{i}" for i in range(50)) + " }\n"
    shown = abbreviate(batch, keep=3)
    assert (
        shown == "add element inet shieldwall block_v4 { 45.0.0.0, 45.0.0.1, 45.0.0.2, ... } # 50 elements\n"
    )
    assert abbreviate("flush set inet shieldwall range_v4\n") == "flush set inet shieldwall range_v4\n"
