"""Replay inputs on real files: plain, compressed, stdin, and the errors a user can fix."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shieldwall.errors import SourceError
from shieldwall.sources.lines import MAX_LINE, LineStats
from shieldwall.sources.replay import iter_file_chunks, iter_stdin_chunks

LINES = b"".join(b"Nov 29 02:21:%02d host sshd[1]: line %d\n" % (i % 60, i) for i in range(5000))


def collect(chunks: object) -> bytes:
    out = list(chunks)  # type: ignore[call-overload]
    assert all(c.endswith(b"\n") for c in out)
    return b"".join(out)


@pytest.mark.parametrize("read_size", [7, 4096, 2 * 1024 * 1024])
def test_plain_file_is_returned_whole_in_complete_lines(tmp_path: Path, read_size: int) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(LINES)
    assert collect(iter_file_chunks(path, read_size=read_size)) == LINES


@pytest.mark.parametrize(
    "compress", [gzip.compress, bz2.compress, lzma.compress], ids=["gzip", "bzip2", "xz"]
)
def test_compressed_file_is_recognised_by_content_not_name(tmp_path: Path, compress: object) -> None:
    path = tmp_path / "auth.log.2"  # no telling suffix
    path.write_bytes(compress(LINES))  # type: ignore[operator]
    assert collect(iter_file_chunks(path, read_size=4096)) == LINES


def test_concatenated_gzip_members_are_all_read(tmp_path: Path) -> None:
    path = tmp_path / "auth.log.gz"
    path.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\n"))
    assert collect(iter_file_chunks(path)) == b"a\nb\n"


def test_unterminated_last_line_of_a_file_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "auth.log"
    path.write_bytes(b"one\r\ntwo \xff\xfe")
    stats = LineStats()
    assert collect(iter_file_chunks(path, stats=stats)) == b"one\r\ntwo \xff\xfe\n"
    assert stats.lines_flushed == 1


def test_overlong_lines_are_cut_and_counted_in_shared_stats(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_bytes(b"x" * (3 * MAX_LINE) + b"\nshort\n")
    second.write_bytes(b"y" * (MAX_LINE + 1))
    stats = LineStats()
    out = collect(iter_file_chunks(first, stats=stats, read_size=10_000))
    assert out == b"x" * MAX_LINE + b"\nshort\n"
    assert collect(iter_file_chunks(second, stats=stats)) == b"y" * MAX_LINE + b"\n"
    assert stats.lines_cut == 2


def test_empty_file_gives_no_chunks(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    assert list(iter_file_chunks(path)) == []


def test_missing_file_fails_at_open_with_a_message_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"nope\.log: no such file; check the path"):
        iter_file_chunks(tmp_path / "nope.log")


def test_directory_fails_with_a_message_saying_to_give_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory"):
        iter_file_chunks(tmp_path)


def test_unreadable_file_fails_with_a_permission_message(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode; run as a normal user to check this")
    path = tmp_path / "secret.log"
    path.write_bytes(b"x\n")
    path.chmod(0)
    with pytest.raises(SourceError, match="permission denied"):
        iter_file_chunks(path)


def test_damaged_gzip_fails_while_reading_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "auth.log.gz"
    path.write_bytes(gzip.compress(LINES)[:-40])
    with pytest.raises(SourceError, match="damaged or truncated"):
        list(iter_file_chunks(path))


def test_stdin_stream_is_read_to_its_end() -> None:
    stream = io.BytesIO(LINES + b"tail")
    assert collect(iter_stdin_chunks(stream=stream, read_size=1000)) == LINES + b"tail\n"


def test_dash_reads_the_real_standard_input(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from shieldwall.sources.replay import iter_file_chunks\n"
        "sys.stdout.buffer.write(b''.join(iter_file_chunks('-')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=LINES, capture_output=True, timeout=60, check=True
    )
    assert result.stdout == LINES
