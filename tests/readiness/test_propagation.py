"""Real decisions' propagation: detection (skew-corrected) -> block on every expected member."""

from __future__ import annotations

from shieldwall.readiness.applied import AppliedRecord
from shieldwall.readiness.propagation import (
    DETECTION_HORIZON,
    SKEW_TOLERANCE,
    Candidate,
    Evidence,
    Member,
    Timeline,
    detection,
    expected,
    measure,
)

T = 10_000.0
MEMBERS = (Member("a", 0.0), Member("b", 0.0), Member("c", 0.0))
READY = Timeline([(m.name, 1.0, "ok") for m in MEMBERS])


def block(seq: int = 1, created: float = T, target: str = "45.33.99.7",
          seen: float = T - 0.2, by: str = "a") -> Candidate:
    return Candidate(seq, created, target, (Evidence(by, seen, created - 0.1),))


def report(member: str, *pairs: tuple[int, float], skew: float = 0.0,
           at: float = T + 30) -> AppliedRecord:
    return AppliedRecord(member, skew, at, tuple(pairs))


def test_block_on_all_is_the_last_expected_members_applied_time() -> None:
    figures = measure([block()], [report("a", (1, T + 0.01)), report("b", (1, T + 0.05)),
                                  report("c", (1, T + 0.3))], MEMBERS, READY)
    assert figures.seqs == (1,) and abs(figures.latencies[0] - 0.5) < 1e-9
    assert figures.waiting == 0 and figures.undetected == 0


def test_a_member_that_has_not_reported_keeps_the_decision_waiting() -> None:
    figures = measure([block()], [report("a", (1, T + 0.01)), report("b", (1, T + 0.05))],
                      MEMBERS, READY)
    assert figures.latencies == () and figures.waiting == 1


def test_failing_never_heard_departed_and_later_members_are_not_expected() -> None:
    members = (*MEMBERS, Member("d", 0.0), Member("e", 0.0, revoked_at=T - 1),
               Member("f", T + 1))
    timeline = Timeline([("a", 1.0, "ok"), ("b", 1.0, "ok"), ("b", T - 5, "degraded"),
                         ("c", 1.0, "ok"), ("c", T - 5, "failing"), ("c", T + 5, "ok"),
                         ("e", 1.0, "ok"), ("f", T + 2, "ok")])
    assert expected(block(), members, timeline) == {"a", "b"}


def test_a_member_owning_the_target_is_not_expected_to_block_it() -> None:
    members = (Member("a", 0.0), Member("b", 0.0, owns=("45.33.99.0/24",)),
               Member("c", 0.0, owns=("2001:db8::/32", "not a range")))
    assert expected(block(), members, READY) == {"a", "c"}
    assert expected(block(target="2001:db8::1"), members, READY) == {"a", "b"}


def test_member_clocks_are_corrected_by_their_skew() -> None:
    # b's clock runs 60 s ahead: its evidence's log time reads 60 s late.
    late = Candidate(1, T, "45.33.99.7", (Evidence("b", T + 60 - 1.0, T - 0.1),))
    assert detection(late, {"b": 60.0}) == T - 1.0
    # Records hold hub-clock times already (corrected on arrival); their skew corrects
    # b's evidence.
    figures = measure([late], [report("a", (1, T + 0.5)), report("b", (1, T + 0.2), skew=60.0),
                               report("c", (1, T + 0.1))], MEMBERS, READY)
    assert abs(figures.latencies[0] - 1.5) < 1e-9


def test_the_earliest_detection_among_the_evidence_counts() -> None:
    both = Candidate(1, T, "45.33.99.7", (Evidence("a", T - 0.3, T - 0.2),
                                          Evidence("b", T - 2.0, T - 0.1)))
    assert detection(both, {}) == T - 2.0


def test_a_detection_after_its_receipt_is_cut_to_the_receipt() -> None:
    future = Candidate(1, T, "45.33.99.7", (Evidence("a", T + 3600, T - 0.1),))
    assert detection(future, {}) == T - 0.1


def test_a_replayed_or_hostile_old_detection_is_not_measured() -> None:
    old = block(seen=T - DETECTION_HORIZON - 10)
    operator = Candidate(2, T, "45.33.99.8", ())
    figures = measure([old, operator], [report(m, (1, T), (2, T)) for m in "abc"],
                      MEMBERS, READY)
    assert figures.latencies == () and figures.undetected == 2


def test_an_applied_time_before_the_decision_is_ignored_and_a_near_one_is_the_decision() -> None:
    early = [report("a", (1, T - SKEW_TOLERANCE - 5)), report("b", (1, T)), report("c", (1, T))]
    assert measure([block()], early, MEMBERS, READY).waiting == 1
    near = [report("a", (1, T - 0.2)), report("b", (1, T - 0.1)), report("c", (1, T - 0.3))]
    figures = measure([block()], near, MEMBERS, READY)
    assert abs(figures.latencies[0] - 0.2) < 1e-9  # block on all taken as the decision's time


def test_seqs_of_decisions_that_do_not_exist_change_nothing() -> None:
    flood = report("a", (1, T + 0.1), *((seq, T + 1) for seq in range(2, 600)))
    figures = measure([block()], [flood, report("b", (1, T + 0.1)), report("c", (1, T + 0.1))],
                      MEMBERS, READY)
    assert figures.seqs == (1,) and figures.waiting == 0


def test_one_member_cannot_report_for_another() -> None:
    # a's records name only a: b and c never reported, so the decision waits.
    figures = measure([block()], [report("a", (1, T + 0.1))] * 50, MEMBERS, READY)
    assert figures.waiting == 1 and figures.latencies == ()


def test_a_repeated_report_counts_its_earliest_time() -> None:
    records = [report("a", (1, T + 0.9)), report("a", (1, T + 0.1), at=T + 60),
               report("b", (1, T + 0.1)), report("c", (1, T + 0.1))]
    assert abs(measure([block()], records, MEMBERS, READY).latencies[0] - 0.3) < 1e-9


def test_no_expected_member_means_nothing_to_measure() -> None:
    figures = measure([block()], [report("a", (1, T))], MEMBERS, Timeline([]))
    assert figures.waiting == 1 and figures.latencies == ()


def test_a_member_without_a_record_uses_the_rosters_skew() -> None:
    late = Candidate(1, T, "45.33.99.7", (Evidence("z", T + 30 - 1.0, T - 0.1),))
    figures = measure([late], [report(m, (1, T + 0.5)) for m in "abc"], MEMBERS, READY,
                      skews={"z": 30.0})
    assert abs(figures.latencies[0] - 1.5) < 1e-9
