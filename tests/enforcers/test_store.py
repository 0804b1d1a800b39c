"""The block store on a real SQLite file."""

import math
from pathlib import Path

import pytest

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.store import BlockStore, data_dir
from shieldwall.errors import EnforcerError


def test_blocks_survive_reopening(tmp_path: Path) -> None:
    store = BlockStore.open(tmp_path)
    store.put(
        [
            Block("192.0.2.7", 100.0, origin="hub", scenario="ssh", reason="r", created=1.0),
            Block("2001:db8::/32", math.inf, origin="operator"),
        ]
    )
    store.close()
    again = BlockStore.open(tmp_path)
    assert again.active(50.0) == {
        "192.0.2.7": Block("192.0.2.7", 100.0, "hub", "ssh", "r", 1.0),
        "2001:db8::/32": Block("2001:db8::/32", math.inf, "operator"),
    }


def test_expired_blocks_are_not_active_and_can_be_purged(tmp_path: Path) -> None:
    store = BlockStore.open(tmp_path)
    store.put([Block("192.0.2.1", 10.0), Block("192.0.2.2", 20.0), Block("192.0.2.3")])
    assert set(store.active(10.0)) == {"192.0.2.2", "192.0.2.3"}
    assert store.purge(10.0) == 1
    assert store.get("192.0.2.1") is None


def test_put_replaces_and_remove_counts(tmp_path: Path) -> None:
    store = BlockStore.open(tmp_path)
    store.put([Block("192.0.2.1", 10.0)])
    store.put([Block("192.0.2.1", 99.0)])
    assert store.get("192.0.2.1") == Block("192.0.2.1", 99.0)
    assert store.remove(["192.0.2.1", "192.0.2.9"]) == 1


def test_unwritable_place_is_an_actionable_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(EnforcerError, match="--data-dir"):
        BlockStore.open(blocker / "sub")


def test_data_dir_prefers_explicit_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIELDWALL_DATA_DIR", "/tmp/from-env")
    assert data_dir("/tmp/explicit") == Path("/tmp/explicit")
    assert data_dir(None) == Path("/tmp/from-env")
    monkeypatch.delenv("SHIELDWALL_DATA_DIR")
    assert data_dir(None) == Path("/var/lib/shieldwall/member")
