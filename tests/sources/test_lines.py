"""LineAssembler: complete-line chunks, cut over-long lines, exact offsets."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldwall.sources.lines import MAX_LINE, LineAssembler, LineStats


def reference(data: bytes, limit: int) -> tuple[bytes, int, int]:
    """Naive model: complete lines cut to ``limit``; (output, cut count, end offset)."""
    *complete, _rest = data.split(b"\n")
    cut = sum(1 for line in complete if len(line) > limit)
    out = b"".join(line[:limit] + b"\n" for line in complete)
    end = data.rfind(b"\n") + 1
    return out, cut, end


def feed_all(assembler: LineAssembler, chunks: list[bytes]) -> list[bytes]:
    return [out for out in (assembler.feed(c) for c in chunks) if out]


def test_whole_lines_pass_through_unchanged() -> None:
    asm = LineAssembler()
    data = b"a\r\nb \xff\xfe invalid utf-8\nc\n"
    assert asm.feed(data) == data
    assert asm.offset == len(data)


def test_unterminated_last_line_is_held_until_its_newline() -> None:
    asm = LineAssembler()
    assert asm.feed(b"one\ntw") == b"one\n"
    assert asm.offset == 4
    assert asm.pending == 2
    assert asm.feed(b"o") == b""
    assert asm.feed(b"\nthree\n") == b"two\nthree\n"
    assert asm.offset == 14
    assert asm.pending == 0


def test_every_chunk_returned_ends_with_a_newline() -> None:
    asm = LineAssembler()
    for piece in (b"x" * 10, b"\ny", b"y\nz", b"\n"):
        out = asm.feed(piece)
        assert out == b"" or out.endswith(b"\n")


def test_flush_completes_the_unterminated_last_line_at_end_of_input() -> None:
    stats = LineStats()
    asm = LineAssembler(stats=stats)
    asm.feed(b"a\nlast")
    assert asm.flush() == b"last\n"
    assert stats.lines_flushed == 1
    assert asm.offset == 6
    assert asm.flush() == b""


def test_overlong_line_is_cut_and_counted() -> None:
    stats = LineStats()
    asm = LineAssembler(stats=stats)
    long = b"A" * (MAX_LINE + 500)
    out = asm.feed(b"before\n" + long + b"\nafter\n")
    assert out == b"before\n" + b"A" * MAX_LINE + b"\nafter\n"
    assert stats.lines_cut == 1
    assert asm.offset == 7 + len(long) + 1 + 6


def test_line_of_exactly_the_limit_is_not_cut() -> None:
    stats = LineStats()
    asm = LineAssembler(stats=stats)
    line = b"B" * MAX_LINE + b"\n"
    assert asm.feed(line * 3) == line * 3
    assert stats.lines_cut == 0


def test_overlong_line_arriving_in_pieces_is_emitted_only_at_its_newline() -> None:
    stats = LineStats()
    asm = LineAssembler(max_line=8, stats=stats)
    assert asm.feed(b"ok\n0123456789") == b"ok\n"
    assert asm.feed(b"abcdef") == b""
    # The resume offset stays at the start of the long line until it is complete.
    assert asm.offset == 3
    assert asm.feed(b"gh\nnext\n") == b"01234567\nnext\n"
    assert stats.lines_cut == 1
    assert asm.offset == 3 + 18 + 1 + 5


def test_overlong_unterminated_line_is_flushed_cut() -> None:
    stats = LineStats()
    asm = LineAssembler(max_line=4, stats=stats)
    asm.feed(b"123456789")
    assert asm.flush() == b"1234\n"
    assert stats.lines_cut == 1


def test_many_overlong_lines_in_one_chunk_are_all_cut() -> None:
    stats = LineStats()
    asm = LineAssembler(max_line=4, stats=stats)
    out = asm.feed(b"123456\nab\n7890123\ncd\n")
    assert out == b"1234\nab\n7890\ncd\n"
    assert stats.lines_cut == 2


def test_reset_forgets_the_unfinished_line() -> None:
    asm = LineAssembler()
    asm.feed(b"a\npartial")
    asm.reset(0)
    assert asm.offset == 0
    assert asm.feed(b"fresh\n") == b"fresh\n"


def test_resume_offset_counts_from_the_starting_offset() -> None:
    asm = LineAssembler(offset=1000)
    asm.feed(b"x\ny")
    assert asm.offset == 1002


def test_max_line_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LineAssembler(max_line=0)


@given(
    data=st.binary(max_size=400).map(lambda b: b.replace(b"\x00", b"\n")),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    limit=st.integers(min_value=1, max_value=20),
)
def test_any_chunking_gives_the_same_lines_as_splitting_the_whole(
    data: bytes, cuts: list[int], limit: int
) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds)]
    stats = LineStats()
    asm = LineAssembler(max_line=limit, stats=stats)
    outs = feed_all(asm, chunks)
    expected, cut, end = reference(data, limit)
    assert b"".join(outs) == expected
    assert all(out.endswith(b"\n") for out in outs)
    assert stats.lines_cut == cut
    assert asm.offset == end
    rest = data[end:]
    assert asm.pending == len(rest)
    assert asm.flush() == (rest[:limit] + b"\n" if rest else b"")
    assert stats.lines_cut == cut + (len(rest) > limit)
    assert asm.offset == len(data)


def test_skip_line_drops_bytes_up_to_the_next_newline() -> None:
    stats = LineStats()
    asm = LineAssembler(offset=50, stats=stats)
    asm.skip_line()
    assert asm.feed(b"tail of a line we started inside") == b""
    assert asm.feed(b" still\nwhole\n") == b"whole\n"
    assert stats.lines_cut == 0
    assert asm.offset == 50 + 32 + 7 + 6


def test_skipped_line_is_not_flushed() -> None:
    asm = LineAssembler()
    asm.skip_line()
    asm.feed(b"fragment")
    assert asm.flush() == b""


def test_empty_chunk_changes_nothing() -> None:
    asm = LineAssembler()
    asm.feed(b"a\nb")
    assert asm.feed(b"") == b""
    assert (asm.offset, asm.pending) == (2, 1)


def test_held_part_and_its_end_together_too_long_are_cut() -> None:
    stats = LineStats()
    asm = LineAssembler(max_line=8, stats=stats)
    assert asm.feed(b"12345") == b""
    assert asm.feed(b"6789\nok\n") == b"12345678\nok\n"
    assert stats.lines_cut == 1
