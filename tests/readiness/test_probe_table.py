"""Probe of the enforcer on recorded ``nft -j`` listings (the runner stands in for nft).

The kernel itself is exercised in ``test_readiness_netns.py``; here the recorded
listings of ``tests/enforcers/recorded`` show the probe wiring store and table.
"""

from __future__ import annotations

import math
from pathlib import Path

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nftables import NftablesEnforcer
from shieldwall.enforcers.store import BlockStore
from shieldwall.errors import EnforcerError
from shieldwall.readiness.probe_table import read_enforcement
from shieldwall.readiness.table import check_table

RECORDED = Path(__file__).resolve().parents[1] / "enforcers" / "recorded"
NOW = 1_800_000_000.0
IN_TABLE = ["192.0.2.7", "192.0.2.8", "2001:db8::1", "198.51.100.0/24", "2001:db8:bad::/48"]


class Recorded:
    """A runner that answers listings from a recorded file (``None``: no table)."""

    description = "recorded"

    def __init__(self, name: str | None, error: str | None = None) -> None:
        self.text = None if name is None else (RECORDED / name).read_text()
        self.error = error

    def run(self, batch: str) -> None:
        raise AssertionError("a probe must never change the table")

    def list_table(self) -> str | None:
        if self.error is not None:
            raise EnforcerError(self.error)
        return self.text


def store_with(tmp_path: Path, targets: list[str]) -> None:
    store = BlockStore.open(tmp_path)
    store.put(Block(t, math.inf) for t in targets)
    store.close()


def probe(tmp_path: Path, runner: Recorded) -> str:
    view = read_enforcement(tmp_path, NOW, enforcer=NftablesEnforcer(runner))
    return check_table(view, NOW, sample=10, full=True).state


def test_a_recorded_intact_table_matching_the_store_verifies(tmp_path: Path) -> None:
    store_with(tmp_path, IN_TABLE)
    assert probe(tmp_path, Recorded("table_intact.json")) == "ok"


def test_a_store_block_the_recorded_table_lacks_fails(tmp_path: Path) -> None:
    store_with(tmp_path, [*IN_TABLE, "203.0.113.5"])
    assert probe(tmp_path, Recorded("table_intact.json")) == "failing"


def test_a_recorded_damaged_table_fails(tmp_path: Path) -> None:
    store_with(tmp_path, IN_TABLE)
    assert probe(tmp_path, Recorded("table_rule_and_set_deleted.json")) == "failing"


def test_no_table_under_blocks_fails(tmp_path: Path) -> None:
    store_with(tmp_path, IN_TABLE)
    view = read_enforcement(tmp_path, NOW, enforcer=NftablesEnforcer(Recorded(None)))
    assert view.table is None and len(view.desired or {}) == 5


def test_a_listing_that_fails_is_reported_with_nfts_reason(tmp_path: Path) -> None:
    runner = Recorded(None, error="listing failed: needs CAP_NET_ADMIN")
    view = read_enforcement(tmp_path, NOW, enforcer=NftablesEnforcer(runner))
    assert view.error is not None and "CAP_NET_ADMIN" in view.error


def test_a_damaged_block_store_is_reported(tmp_path: Path) -> None:
    (tmp_path / "blocks.sqlite3").write_bytes(b"not sqlite" * 200)
    view = read_enforcement(tmp_path, NOW, enforcer=NftablesEnforcer(Recorded(None)))
    assert view.error is not None and "block store" in view.error


def test_other_backends_are_not_read(tmp_path: Path) -> None:
    view = read_enforcement(tmp_path, NOW, backend="memory")
    assert (view.backend, view.table, view.error) == ("memory", None, None)
