"""The journal on a real SQLite file: cursors survive restarts without gap or duplicate."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shieldwall.enforcers.block import Block
from shieldwall.errors import ConfigError
from shieldwall.interop.crowdsec.filters import stream_filter
from shieldwall.interop.crowdsec.journal import FILE_NAME, Journal

NOW = 1_000_000.0
ALL = stream_filter({}, "")


def blocks(*targets: str, until: float = NOW + 3600) -> dict[str, Block]:
    return {t: Block(t, until, "hub", "ssh-bruteforce", created=NOW) for t in targets}


def values(journal: Journal, name: str, startup: bool = False) -> tuple[list[str], list[str]]:
    answer = journal.pull(name, startup=startup, flt=ALL, now=NOW)
    return [d.value for d in answer.new], [d.value for d in answer.deleted]


def test_each_change_reaches_a_bouncer_once_across_restarts_of_the_member(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.add_bouncer("fw", NOW)
    journal.sync(blocks("192.0.2.1", "192.0.2.2"))
    assert values(journal, "fw", startup=True) == (["192.0.2.1", "192.0.2.2"], [])
    journal.sync(blocks("192.0.2.2", "192.0.2.3"))
    journal.close()

    journal = Journal.open(tmp_path)  # the member restarted between two pulls
    assert values(journal, "fw") == (["192.0.2.3"], ["192.0.2.1"])
    assert values(journal, "fw") == ([], [])
    journal.sync(blocks("192.0.2.3"))
    assert values(journal, "fw") == ([], ["192.0.2.2"])


def test_head_reads_nothing_and_a_later_get_still_gets_everything(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.add_bouncer("fw", NOW)
    journal.sync(blocks("192.0.2.1"))
    journal.pull("fw", startup=False, flt=ALL, now=NOW, move_cursor=False)
    assert values(journal, "fw") == (["192.0.2.1"], [])


def test_a_target_appears_once_per_answer_in_its_latest_state(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.add_bouncer("fw", NOW)
    journal.sync(blocks("192.0.2.1"))
    journal.sync({})
    journal.sync(blocks("192.0.2.1", until=NOW + 60))
    answer = journal.pull("fw", startup=False, flt=ALL, now=NOW)
    assert [(d.value, d.duration) for d in answer.new] == [("192.0.2.1", "1m0s")]
    assert answer.deleted == []


def test_two_bouncers_keep_their_own_cursors(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.add_bouncer("a", NOW)
    journal.add_bouncer("b", NOW)
    journal.sync(blocks("192.0.2.1"))
    assert values(journal, "a") == (["192.0.2.1"], [])
    journal.sync({})
    assert values(journal, "a") == ([], ["192.0.2.1"])
    # b never pulled while it was live: it gets the latest state only, a harmless delete.
    assert values(journal, "b") == ([], ["192.0.2.1"])


def test_deleted_rows_are_kept_until_every_bouncer_has_seen_them(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.add_bouncer("slow", NOW)
    journal.add_bouncer("fast", NOW)
    journal.sync(blocks("192.0.2.1"))
    values(journal, "fast")
    values(journal, "slow")
    journal.sync({})
    values(journal, "fast")
    journal.sync(blocks("192.0.2.9"))
    journal.sync({})  # prunes only what the slowest bouncer has passed
    assert values(journal, "slow") == ([], ["192.0.2.1", "192.0.2.9"])


def test_two_processes_serving_one_data_dir_do_not_publish_twice(tmp_path: Path) -> None:
    first, second = Journal.open(tmp_path), Journal.open(tmp_path)
    first.add_bouncer("fw", NOW)
    first.sync(blocks("192.0.2.1"))
    assert second.sync(blocks("192.0.2.1")) == 0
    assert values(second, "fw") == (["192.0.2.1"], [])


def test_keys_are_stored_only_as_their_sha512(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    key = journal.add_bouncer("fw", NOW)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob(FILE_NAME + "*"))
    assert key.encode() not in raw
    assert hashlib.sha512(key.encode()).hexdigest().encode() in raw
    assert journal.authenticate(key) == "fw"


@pytest.mark.parametrize("key", [None, "", "x" * 10_000, "\udcff" * 20, "' OR 1=1 --"])
def test_wrong_or_hostile_keys_authenticate_nobody(tmp_path: Path, key: str | None) -> None:
    journal = Journal.open(tmp_path)
    journal.add_bouncer("fw", NOW)
    assert journal.authenticate(key) is None


def test_bouncer_names_are_checked_and_unique(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.add_bouncer("fw", NOW)
    with pytest.raises(ConfigError, match="exists"):
        journal.add_bouncer("fw", NOW)
    with pytest.raises(ConfigError, match="name"):
        journal.add_bouncer("bad name/../", NOW)
    assert journal.delete_bouncer("fw") and not journal.delete_bouncer("fw")
    assert journal.bouncers() == []


def test_an_extension_a_bouncer_holds_is_sent_as_deleted_then_new(tmp_path: Path) -> None:
    # Re-adding a value to an nft set keeps its old timeout: the bouncer must drop it first.
    journal = Journal.open(tmp_path)
    journal.add_bouncer("fw", NOW)
    journal.add_bouncer("late", NOW)
    journal.sync(blocks("192.0.2.1", until=NOW + 60))
    assert values(journal, "fw", startup=True) == (["192.0.2.1"], [])
    journal.sync(blocks("192.0.2.1", until=NOW + 7200))
    answer = journal.pull("fw", startup=False, flt=ALL, now=NOW)
    assert [(d.value, d.duration) for d in answer.new] == [("192.0.2.1", "2h0m0s")]
    assert [d.value for d in answer.deleted] == ["192.0.2.1"]
    assert answer.deleted[0].id < answer.new[0].id
    # A bouncer that never held it is only told the new one; a startup never deletes.
    assert values(journal, "late") == (["192.0.2.1"], [])
    assert values(journal, "fw", startup=True) == (["192.0.2.1"], [])


def test_the_withheld_count_follows_the_ranges_and_survives_idle_pulls(tmp_path: Path) -> None:
    fw = stream_filter({}, "crowdsec-firewall-bouncer/-")
    journal = Journal.open(tmp_path)
    journal.add_bouncer("fw", NOW)
    journal.sync(blocks("192.0.2.1", "198.51.100.0/24", "2001:db8::/64"))

    def withheld(startup: bool = False) -> int:
        journal.pull("fw", startup=startup, flt=fw, now=NOW)
        return journal.bouncers()[0].withheld

    assert withheld(startup=True) == 2
    assert withheld() == 2  # nothing moved: the count is kept, not recomputed
    journal.sync(blocks("192.0.2.1", "198.51.100.0/24"))
    assert withheld() == 1
