"""The reorder buffer: disorder within its bound reaches the detector in time order."""

from __future__ import annotations

import random

import pytest

from shieldwall.detection import reorder as reorder_module
from shieldwall.detection.detector import Detector
from shieldwall.detection.reorder import Reorder
from shieldwall.detection.scenario import parse_scenarios
from shieldwall.events.event import Event

A = "192.0.2.1"


def ev(t: float, key: str = A) -> Event:
    return Event(t, key, "http", "probe_secret", "http_probe")


def times(events: list[Event]) -> list[float]:
    return [e.time for e in events]


def test_events_are_held_until_the_log_has_moved_past_them_by_the_bound() -> None:
    r = Reorder(10.0)
    assert r.push([ev(100), ev(105)]) == []
    assert times(r.push([ev(103), ev(112)])) == [100]
    assert times(r.push([ev(120)])) == [103, 105]
    assert times(r.flush()) == [112, 120]
    assert r.late == 0 and len(r) == 0


def test_disorder_within_the_bound_comes_out_sorted() -> None:
    rng = random.Random(7)
    wanted = [float(t) for t in range(1000)]
    shuffled = sorted(wanted, key=lambda t: t + rng.uniform(0, 30))  # at most 30 s out of order
    r = Reorder(30.0)
    out: list[Event] = []
    for start in range(0, len(shuffled), 17):
        out += r.push([ev(t) for t in shuffled[start : start + 17]])
    out += r.flush()
    assert times(out) == wanted
    assert r.late == 0


def test_what_arrives_later_than_the_bound_is_passed_on_and_counted() -> None:
    r = Reorder(10.0)
    assert times(r.push([ev(100), ev(200), ev(250)])) == [100, 200]
    assert times(r.push([ev(195), ev(260)])) == [195, 250]  # 200 is already out
    assert r.late == 1


def test_an_older_file_starts_a_new_epoch_and_is_reordered_on_its_own() -> None:
    r = Reorder(10.0)
    assert times(r.push([ev(5000), ev(5001)])) == []
    # the next file of a newest-first replay: what was held goes first, then its own order
    assert times(r.push([ev(1003), ev(1000)])) == [5000, 5001]
    assert times(r.push([ev(1001), ev(1020)])) == [1000, 1001, 1003]
    assert r.late == 0


def test_the_buffer_is_bounded() -> None:
    r = Reorder(1e9, max_held=100)
    out = r.push([ev(float(t)) for t in range(1000)])
    assert len(out) == 900 and len(r) == 100
    assert times(out) == [float(t) for t in range(900)]


def test_a_zero_bound_passes_everything_through() -> None:
    batch = [ev(3), ev(1)]
    assert Reorder(0).push(batch) == batch
    with pytest.raises(ValueError):
        Reorder(-1)


PROBING = parse_scenarios(
    '[[scenario]]\nname = "p"\npacks = ["http"]\nkinds = ["http_probe"]\nthreshold = 10\nwindow = "1m"\n'
)


def _workers_log() -> list[Event]:
    """Two web workers' lines merged by worker, not by time: two minutes of disorder.

    Each worker alone probes six times a minute (below the threshold); together twelve.
    """
    first = [ev(1000.0 + 10 * i) for i in range(12)]
    second = [ev(1005.0 + 10 * i) for i in range(12)]
    return first + second


def test_a_merged_log_out_of_order_by_minutes_is_detected_through_the_buffer() -> None:
    r = Reorder(120.0)
    detector = Detector(PROBING)
    found = detector.feed(r.push(_workers_log())) + detector.feed(r.flush())
    assert [(d.key, d.scenario) for d in found] == [(A, "p")]


def test_without_the_buffer_the_same_log_clears_the_window() -> None:
    # what the buffer is for: the detector alone takes the jump back for a new epoch
    assert Detector(PROBING).feed(_workers_log()) == []


@pytest.mark.skipif(reorder_module._sorted_top is None, reason="the compiled engine is not built here")
def test_batches_already_in_order_skip_the_sort_and_release_the_very_same_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In order, out of order, ties (stable order matters: equal times keep arrival order),
    # NaN, an epoch back, batches that start before what is held: with and without the
    # compiled scan of a batch's times, the same events come out in the same order.
    rng = random.Random(7)
    batches: list[list[Event]] = []
    t = 1000.0
    for n in range(300):
        size = rng.randrange(0, 40)
        if n % 50 == 49:
            t -= 5000  # an older file
        batch = [ev(t + i * rng.choice((0, 0.5, 1)), key=f"192.0.2.{i}") for i in range(size)]
        if n % 3 == 0:
            rng.shuffle(batch)
        if n % 7 == 0 and batch:
            batch.insert(0, ev(t - rng.uniform(0, 30)))  # starts before what is held
        if n == 13:
            batch.append(ev(float("nan")))
        batches.append(batch)
        t += size + rng.uniform(0, 20)

    def run() -> tuple[list[tuple[float, str]], int]:
        r = Reorder(15.0)
        out = [e for b in batches for e in r.push(list(b))] + r.flush()
        return [(e.time, e.key) for e in out], r.late

    fast = run()
    monkeypatch.setattr(reorder_module, "_sorted_top", None)
    slow = run()
    assert str(fast) == str(slow)  # NaN != NaN: compare the texts
    assert len(fast[0]) > 3000
