"""The nftables enforcer's decisions and its error messages.

The runner here is a recording stand-in (it replays a listing captured from
real nft and keeps the batches it is given), because these rules are about what
the enforcer chooses to run; running it for real is tests/integration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nftables import (
    LibNftables,
    NftablesEnforcer,
    NftCommand,
    open_runner,
    translate_nft_error,
)
from shieldwall.errors import EnforcerError

RECORDED = Path(__file__).parent / "recorded"
NOW = 1000.0


class Recorder:
    description = "recorder"

    def __init__(self, listing: str | None) -> None:
        self.listing = listing
        self.batches: list[str] = []
        self.reads = 0

    def run(self, batch: str) -> None:
        self.batches.append(batch)

    def list_table(self) -> str | None:
        self.reads += 1
        return self.listing


class SlowClock:
    """Each reading of the clock is 10 s later: the listing 'took' 10 s."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 10.0
        return self.t


INTACT = (RECORDED / "table_intact.json").read_text()
IN_TABLE = {
    "192.0.2.7": Block("192.0.2.7", NOW + 3600),
    "192.0.2.8": Block("192.0.2.8"),
    "2001:db8::1": Block("2001:db8::1", NOW + 60),
    "198.51.100.0/24": Block("198.51.100.0/24", NOW + 7200),
    "2001:db8:bad::/48": Block("2001:db8:bad::/48"),
}


def test_reconcile_of_a_matching_table_runs_nothing() -> None:
    runner = Recorder(INTACT)
    assert not NftablesEnforcer(runner).reconcile(IN_TABLE, NOW)
    assert runner.batches == []


def test_reconcile_runs_only_the_difference_in_one_batch() -> None:
    runner = Recorder(INTACT)
    desired = dict(IN_TABLE)
    del desired["192.0.2.8"]
    desired["203.0.113.1"] = Block("203.0.113.1", NOW + 5)
    plan = NftablesEnforcer(runner).reconcile(desired, NOW)
    assert plan.remove == ("192.0.2.8",) and [b.target for b in plan.add] == ["203.0.113.1"]
    assert len(runner.batches) == 1
    assert "delete element inet shieldwall block_v4 { 192.0.2.8 }" in runner.batches[0]


def test_missing_table_is_rebuilt() -> None:
    runner = Recorder(None)
    plan = NftablesEnforcer(runner).reconcile(IN_TABLE, NOW)
    assert plan.rebuild and runner.batches[0].startswith("add table inet shieldwall\n")


def test_large_desired_set_is_rebuilt_without_reading() -> None:
    runner = Recorder(INTACT)
    plan = NftablesEnforcer(runner, read_limit=3).reconcile(IN_TABLE, NOW)
    assert plan.rebuild and runner.reads == 0


def test_slow_listing_widens_the_expiry_tolerance() -> None:
    # 2001:db8::1 was read as expiring 59 s after NOW; we want 65 s: 6 s apart.
    desired = dict(IN_TABLE)
    desired["2001:db8::1"] = Block("2001:db8::1", NOW + 65)
    assert NftablesEnforcer(Recorder(INTACT)).plan(desired, NOW).remove == ("2001:db8::1",)
    assert not NftablesEnforcer(Recorder(INTACT), clock=SlowClock()).plan(desired, NOW)


def test_uninstall_deletes_only_our_table() -> None:
    runner = Recorder(INTACT)
    NftablesEnforcer(runner).uninstall()
    assert runner.batches == ["add table inet shieldwall\ndelete table inet shieldwall\n"]


def test_permission_error_names_the_capability_to_grant() -> None:
    error = translate_nft_error(
        "Error: Could not process rule: Operation not permitted\n", "nftables transaction"
    )
    assert "CAP_NET_ADMIN" in str(error) and "AmbientCapabilities" in str(error)


def test_other_nft_errors_keep_nft_first_line() -> None:
    error = translate_nft_error("Error: interval overlaps\nmore\n", "nftables transaction")
    assert str(error) == "nftables transaction failed: nft said: Error: interval overlaps"


def test_missing_library_and_command_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EnforcerError, match="apt-get install nftables"):
        LibNftables("libshieldwall-no-such-library.so.1")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnforcerError, match="apt-get install nftables"):
        NftCommand()
    with pytest.raises(EnforcerError, match="neither libnftables nor the nft command"):
        open_runner("command")
    with pytest.raises(EnforcerError, match="unknown nftables backend"):
        open_runner("iptables")
