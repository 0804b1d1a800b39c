"""``shieldwall replay``'s report: one JSON object per line, the same bytes whatever stdout is."""

from __future__ import annotations

import io
import json
import sys

import pytest

from shieldwall.cli.replay import _REPORT_BATCH, _report
from shieldwall.detection.detection import Detection


def _detections(n: int) -> list[Detection]:
    return [Detection(f"203.0.113.{i % 250}", "http-probing", "http", 10 + i, 1.7e9 + i, 1.7e9 + i + 0.5,
                      14400.0, [b'GET /.env "x"', "caf\u00e9 \u2603".encode(), b"\xff bad"])
            for i in range(n)]


def _written(stream: io.TextIOBase, monkeypatch: pytest.MonkeyPatch, as_json: bool, n: int) -> str:
    monkeypatch.setattr(sys, "stdout", stream)
    stream.write("before\n")  # what the text layer holds goes out first
    _report(_detections(n), as_json)
    if isinstance(stream, io.StringIO):
        return stream.getvalue()
    assert isinstance(stream, io.TextIOWrapper) and isinstance(stream.buffer, io.BytesIO)
    return stream.buffer.getvalue().decode("utf-8")


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_the_report_is_the_same_text_on_a_utf8_byte_stream_and_on_a_text_only_one(
        as_json: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    n = 2 * _REPORT_BATCH + 3  # several writes, the last one short
    on_bytes = _written(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), monkeypatch, as_json, n)
    on_text = _written(io.StringIO(), monkeypatch, as_json, n)
    assert on_bytes == on_text
    lines = on_bytes.splitlines()
    assert lines[0] == "before" and len(lines) == 1 + n
    if as_json:
        first = json.loads(lines[1])
        assert first == _detections(1)[0].to_json()
        assert first["evidence"] == ['GET /.env "x"', "caf\u00e9 \u2603", "\ufffd bad"]


def test_a_non_utf8_stdout_gets_the_report_through_its_own_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-16")
    monkeypatch.setattr(sys, "stdout", stream)
    _report(_detections(3), True)
    assert isinstance(stream.buffer, io.BytesIO)
    text = stream.buffer.getvalue().decode("utf-16")
    assert [json.loads(line)["count"] for line in text.splitlines()] == [10, 11, 12]
