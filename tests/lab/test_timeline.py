"""The demo's timeline from agents' JSON notes."""

from __future__ import annotations

from shieldwall.lab.timeline import applied_delays, build_timeline, parse_notes, render_timeline

A = """\
{"t":100.0,"event":"agent.start","member":"a"}
Traceback (most recent call last): not a note
{"t":100.500,"event":"detection","ip":"10.77.0.5","scenario":"ssh-bruteforce","count":5}
{"t":100.501,"event":"block.applied","target":"10.77.0.5","origin":"local"}
{"t":100.560,"event":"signal.acked","signals":1}
{"t":100.561,"event":"decision","cursor":1,"action":"block","target":"10.77.0.5"}
{"t":100.562,"event":"block.applied","target":"10.77.0.5","origin":"a"}
"""
B = """\
{"t":100.530,"event":"decision","cursor":1,"action":"block","target":"10.77.0.5"}
{"t":100.531,"event":"block.applied","target":"10.77.0.5","origin":"a"}
{"t":101.0,"event":"block.applied","target":"10.77.0.9","origin":"a"}
"""


def test_non_json_lines_are_skipped() -> None:
    assert [n["event"] for n in parse_notes(A)][:2] == ["agent.start", "detection"]


def test_delays_run_from_the_detection_to_each_members_first_block() -> None:
    entries = build_timeline({"a": parse_notes(A), "b": parse_notes(B)}, "10.77.0.5",
                             (100.520, 1, "a"))
    delays = applied_delays(entries)
    assert round(delays["a"], 1) == 1.0
    assert round(delays["b"], 1) == 31.0
    assert [e.who for e in entries][:3] == ["a", "a", "hub"]


def test_other_targets_stay_out_of_the_timeline() -> None:
    entries = build_timeline({"b": parse_notes(B)}, "10.77.0.5")
    assert all("10.77.0.9" not in e.detail for e in entries)
    assert len(entries) == 2


def test_rendered_offsets_are_milliseconds_from_the_detection() -> None:
    lines = render_timeline(build_timeline({"a": parse_notes(A)}, "10.77.0.5"))
    assert lines[0].startswith("     +0.0 ms  a")
    assert "+62.0 ms" in lines[-1]
