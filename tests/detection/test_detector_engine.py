"""The detector's compiled loop updates a detection in its quiet period as its Python loop does.

The compiled loop reads and writes a live detection's slots directly (count, first and
last seen, evidence) when they hold the detector's own values; a detection whose fields
someone replaced with other types (a subclass of int, float or list, whose methods may
run Python code) goes the generic way. Both must leave the same detections behind.
"""

from __future__ import annotations

import pytest

from shieldwall.detection.detection import Detection
from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import default_scenarios
from shieldwall.events import engine
from shieldwall.events.event import Event

needs_engine = pytest.mark.skipif(engine.compiled is None, reason="the compiled engine is not built here")


class _Count(int):
    def __add__(self, other: object) -> _Count:
        return _Count(int(self) + 2 * int(other))  # type: ignore[call-overload]


class _Time(float):
    pass


class _Lines(list[bytes]):
    def __len__(self) -> int:
        return 0  # never full: every line of the quiet period is kept


def _probes(address: str, start: float, n: int, weight: int = 1) -> list[Event]:
    return [Event(start + i, address, "http", "p", "http_probe", weight, None, f"{address} {i}".encode())
            for i in range(n)]


def _run(which: str, tamper: bool) -> list[dict[str, object]]:
    detector = Detector(default_scenarios(), history=True, engine=which)
    detector.feed(_probes("203.0.113.1", 1.7e9, 10) + _probes("203.0.113.2", 1.7e9 + 20, 10))
    if tamper:
        for state in detector.states:
            for detection in state.active.values():
                detection.count = _Count(detection.count)
                detection.last_seen = _Time(detection.last_seen)
                detection.evidence = _Lines(detection.evidence)
    # the quiet period: more of the same, one repeat of three, and one line from before first_seen
    detector.feed(_probes("203.0.113.1", 1.7e9 + 100, 7) + _probes("203.0.113.2", 1.7e9 + 200, 1, 3)
                  + _probes("203.0.113.2", 1.7e9 + 300, 4) + _probes("203.0.113.1", 1.7e9 - 30, 1))
    assert detector.engine == which
    return [d.to_json() for d in detector.detections or []]


@needs_engine
@pytest.mark.parametrize("tamper", [False, True], ids=["own values", "replaced by subclasses"])
def test_a_detection_in_its_quiet_period_is_counted_alike_by_both_loops(tamper: bool) -> None:
    python = _run("python", tamper)
    assert python == _run("compiled", tamper)
    probing = [d for d in python if d["scenario"] == "http-probing"]
    assert [d["ip"] for d in probing] == ["203.0.113.1", "203.0.113.2"]
    if tamper:  # the subclasses' own rules ran: each added weight counts twice, no line was refused
        assert [d["count"] for d in probing] == [10 + 2 * 8, 10 + 2 * (3 + 4)]
        assert len(probing[0]["evidence"]) == 5 + 8  # type: ignore[arg-type]  # its sample, then all
    else:
        assert [d["count"] for d in probing] == [10 + 8, 10 + 3 + 4]
        assert all(len(d["evidence"]) == 5 for d in probing)  # type: ignore[arg-type]


@needs_engine
def test_a_subclass_of_detection_is_read_by_attribute_and_counted_alike() -> None:
    class Noted(Detection):
        __slots__ = ("note",)

    def run(which: str) -> list[dict[str, object]]:
        detector = Detector(default_scenarios(), history=True, engine=which)
        detector.feed(_probes("203.0.113.3", 1.7e9, 10))
        for state in detector.states:
            for key, d in list(state.active.items()):
                state.active[key] = Noted(d.key, d.scenario, d.pack, d.count, d.first_seen, d.last_seen,
                                          d.local_block, list(d.evidence))
        detector.feed(_probes("203.0.113.3", 1.7e9 + 50, 5))
        return [d.to_json() for d in detector.detections or []] + [
            d.to_json() for s in detector.states for d in s.active.values()]

    python = run("python")
    assert python == run("compiled")
    assert [d["count"] for d in python if d["scenario"] == "http-probing"][-1] == 15


def _fills(which: str, detector_type: type[Detector] = Detector) -> list[dict[str, object]]:
    detector = detector_type(default_scenarios(), history=True, engine=which)
    # int times (not the floats a stream makes) go the Python way; repeated lines make
    # the evidence sample skip duplicates in a row
    events = [Event(1_700_000_000 + i, "203.0.113.4", "http", "p", "http_probe", 1, None, b"same")
              for i in range(12)]
    events += [*_probes("203.0.113.5", 1.7e9 + 0.5, 9), *_probes("203.0.113.5", 1.7e9 + 30, 2)]
    detector.feed(events)
    return [d.to_json() for d in detector.detections or []]


@needs_engine
def test_a_window_that_fills_makes_the_detection_the_python_loop_makes() -> None:
    python = _fills("python")
    assert python == _fills("compiled")
    # the tenth event fills the window; the rest count in the quiet period, each line kept
    assert [(d["ip"], d["count"], len(d["evidence"])) for d in python  # type: ignore[arg-type]
            if d["scenario"] == "http-probing"] == [("203.0.113.4", 12, 1 + 2), ("203.0.113.5", 11, 5)]


@needs_engine
def test_a_detector_subclass_with_its_own_count_is_asked_when_a_window_fills() -> None:
    asked: list[str] = []

    class Counting(Detector):
        def _count(self, state, key, event):  # type: ignore[no-untyped-def]
            found = super()._count(state, key, event)
            if found is not None:
                asked.append(key)
            return found

    assert _fills("compiled", Counting) == _fills("python")
    assert asked.count("203.0.113.5") == 1 and asked.count("203.0.113.4") == 1
