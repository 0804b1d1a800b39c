"""SSE frames, pages and cursors round-trip; the parser survives arbitrary chunking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shieldwall.decisions.codec import (
    DecisionPage,
    SSEParser,
    decision_frame,
    decode_page,
    encode_page,
    heartbeat_frame,
    parse_cursor,
    retry_frame,
)
from shieldwall.decisions.decision import Decision, decode_decision

DECISIONS = [
    Decision(cursor=i, action="block" if i % 3 else "lift", target=f"45.13.7.{i}",
             until=1e9 + i, scenario="ssh-bruteforce", origin="alice\nmallory", created=1e9)
    for i in range(1, 6)
]


def test_decision_frame_carries_the_cursor_as_event_id() -> None:
    events = SSEParser().feed(decision_frame(DECISIONS[0]))
    assert events[0].id == "1" and events[0].event == "decision"
    assert decode_decision(events[0].data) == DECISIONS[0]


@given(st.lists(st.integers(min_value=1, max_value=50), max_size=40))
def test_parser_yields_the_same_events_however_the_stream_is_split(cuts: list[int]) -> None:
    stream = retry_frame(2000) + b"".join(decision_frame(d) for d in DECISIONS)
    stream += heartbeat_frame(5) + b": comment\n\n"
    parser = SSEParser()
    events = []
    position = 0
    for cut in cuts:
        events += parser.feed(stream[position : position + cut])
        position += cut
    events += parser.feed(stream[position:])
    decisions = [decode_decision(e.data) for e in events if e.event == "decision"]
    assert decisions == DECISIONS
    assert [e.event for e in events][-1] == "heartbeat"


@given(st.lists(st.integers(min_value=1, max_value=12), max_size=30))
def test_parser_reads_crlf_lines_multiline_data_and_split_utf8(cuts: list[int]) -> None:
    stream = ("id: 7\r\nevent: note\r\ndata: d\u00e9j\u00e0\r\ndata:vu \u2713\r\n\r\n"
              ": comment\n\ndata: plain\n\n").encode()
    parser = SSEParser()
    events = []
    position = 0
    for cut in cuts:  # cuts fall inside multi-byte characters too
        events += parser.feed(stream[position : position + cut])
        position += cut
    events += parser.feed(stream[position:])
    assert [(e.event, e.data, e.id) for e in events] == [
        ("note", "d\u00e9j\u00e0\nvu \u2713", "7"), ("message", "plain", None)]


def test_page_round_trips() -> None:
    page = DecisionPage(decisions=tuple(DECISIONS), next=5, more=False, head=5)
    assert decode_page(encode_page(page)) == page


@pytest.mark.parametrize(("text", "value"), [(None, 0), ("", 0), (" 42 ", 42)])
def test_cursor_parses_non_negative_integers(text: str | None, value: int) -> None:
    assert parse_cursor(text) == value


@pytest.mark.parametrize("text", ["-1", "abc", "1e3", "٣", "99999999999999999999999"])
def test_bad_cursor_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cursor(text)
