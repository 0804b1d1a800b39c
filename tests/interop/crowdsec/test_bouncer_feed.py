"""The feed follows the block store: writes by another connection, and expiry by time alone."""

from __future__ import annotations

from pathlib import Path

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.store import BlockStore
from shieldwall.interop.crowdsec.bouncer_feed import BouncerFeed

NOW = 1_000_000.0


def test_a_block_expiring_is_journaled_as_deleted_without_any_write(tmp_path: Path) -> None:
    agent_store = BlockStore.open(tmp_path)  # the agent's connection
    agent_store.put([Block("192.0.2.1", NOW + 60, "hub", "ssh-bruteforce")])
    feed = BouncerFeed(tmp_path, max_busy=1.0)
    assert feed.refresh(NOW) == 1
    assert feed.refresh(NOW + 1) == 0  # nothing changed: the store is not reread
    assert feed.syncs == 1
    assert feed.refresh(NOW + 61) == 1  # expired: time alone moved it
    assert feed.journal.live == {}


def test_another_processs_write_is_noticed(tmp_path: Path) -> None:
    feed = BouncerFeed(tmp_path, max_busy=1.0)
    feed.refresh(NOW)
    agent_store = BlockStore.open(tmp_path)
    agent_store.put([Block("192.0.2.2", NOW + 60, "operator", "manual")])
    assert feed.refresh(NOW) == 1
    agent_store.remove(["192.0.2.2"])
    assert feed.refresh(NOW) == 1 and feed.journal.live == {}


def test_syncing_takes_at_most_its_share_of_the_time(tmp_path: Path) -> None:
    ticks = iter([0.0, 2.0,   # the first sync takes 2 s
                  3.0,        # 1 s later: too soon at max_busy 0.5 (pause 2 s), skipped
                  4.5, 4.6])  # after the pause: synced
    feed = BouncerFeed(tmp_path, max_busy=0.5, monotonic=lambda: next(ticks))
    store = BlockStore.open(tmp_path)
    store.put([Block("192.0.2.1", NOW + 60, "hub", "ssh-bruteforce")])
    assert feed.refresh(NOW) == 1
    store.put([Block("192.0.2.2", NOW + 60, "hub", "ssh-bruteforce")])
    assert feed.refresh(NOW) == 0
    assert feed.refresh(NOW) == 1 and feed.syncs == 2
