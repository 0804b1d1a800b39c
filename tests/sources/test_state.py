"""The position store: exact round trips, atomic saves, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shieldwall.errors import SourceError
from shieldwall.sources.state import (
    CHECK_BYTES,
    FilePosition,
    PositionStore,
    content_check,
    read_check,
)


def test_positions_and_cursors_survive_a_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "positions.json"
    store = PositionStore(path)
    position = FilePosition(device=2049, inode=1234, offset=98765, check="abcd")
    store.set_file("/var/log/auth.log", position)
    store.set_cursor("journald:sshd", "s=1;i=2;b=3")
    store.save()
    again = PositionStore.load(path)
    assert again.file("/var/log/auth.log") == position
    assert again.cursor("journald:sshd") == "s=1;i=2;b=3"
    assert again.file("/other") is None
    assert again.cursor("other") is None


def test_absent_file_is_an_empty_store(tmp_path: Path) -> None:
    store = PositionStore.load(tmp_path / "none.json")
    assert store.file("x") is None
    assert not store.dirty


def test_save_writes_only_when_something_changed(tmp_path: Path) -> None:
    store = PositionStore(tmp_path / "positions.json")
    store.save()
    assert store.saves == 0
    position = FilePosition(1, 2, 3)
    store.set_file("a", position)
    store.save()
    store.set_file("a", position)
    store.set_cursor("j", "c")
    store.set_cursor("j", "c")
    store.save()
    store.save()
    assert store.saves == 2


def test_save_leaves_no_temporary_file_behind(tmp_path: Path) -> None:
    store = PositionStore(tmp_path / "positions.json")
    store.set_cursor("j", "c")
    store.save()
    assert [p.name for p in tmp_path.iterdir()] == ["positions.json"]


def test_in_memory_store_never_writes(tmp_path: Path) -> None:
    store = PositionStore()
    store.set_cursor("j", "c")
    store.save()
    assert store.dirty and store.saves == 0


def test_corrupt_file_is_a_source_error_saying_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "positions.json"
    path.write_text('{"files": {"a": {"device": "x"}}}')
    with pytest.raises(SourceError, match="delete the file to start again"):
        PositionStore.load(path)


def test_unwritable_directory_is_a_source_error(tmp_path: Path) -> None:
    store = PositionStore(tmp_path / "missing-dir" / "positions.json")
    store.set_cursor("j", "c")
    with pytest.raises(SourceError, match="cannot save source positions"):
        store.save()


def test_content_check_covers_only_the_last_bytes_before_the_offset() -> None:
    tail = b"y" * CHECK_BYTES
    assert content_check(b"x" * 10 + tail) == content_check(b"z" * 99 + tail)
    assert content_check(tail) != content_check(tail[:-1] + b"!")


def test_unreadable_position_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read source positions"):
        PositionStore.load(tmp_path)  # a directory


def test_read_check_matches_content_check_of_the_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 10 + b"b" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_check(fd, 110) == content_check(b"b" * 100)
        assert read_check(fd, 5) == content_check(b"a" * 5)
    finally:
        os.close(fd)
