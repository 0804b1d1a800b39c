"""The roster's rules: states from heartbeats, silence, the quorum discount, restoring."""

from __future__ import annotations

from shieldwall.hub.roster import (
    Entry,
    counts,
    discounted,
    drop_departed,
    heard,
    merged,
    restore,
    summary,
    sweep,
)
from shieldwall.readiness.heartbeat import CheckReport, Heartbeat
from shieldwall.readiness.verdict import Check, State


def beat(at: float, *states: State, member: str = "alpha", interval: float = 10.0) -> Heartbeat:
    checks = tuple(CheckReport(f"R{i + 1}", f"check {i + 1}", s, f"reason {i + 1}")
                   for i, s in enumerate(states))
    return Heartbeat(member=member, at=at, interval=interval, checks=checks)


def test_the_first_heartbeat_is_a_transition_from_unknown_to_its_worst_check() -> None:
    entry, moved = heard(None, beat(99.0, "ok", "degraded", "ok"), 100.0)
    assert entry.state == "degraded" and entry.since == 100.0 and entry.skew == -1.0
    assert moved is not None and (moved.before, moved.after) == ("unknown", "degraded")
    assert moved.reason == "R2 degraded: reason 2"


def test_a_heartbeat_in_the_same_state_is_no_transition_and_keeps_since() -> None:
    entry, _ = heard(None, beat(100.0, "ok", "ok"), 100.0)
    again, moved = heard(entry, beat(110.0, "ok", "ok"), 110.0)
    assert moved is None and again.since == 100.0 and again.seen == 110.0


def test_a_member_silent_for_three_intervals_becomes_failing_once() -> None:
    entry, _ = heard(None, beat(100.0, "ok"), 100.0)
    roster, moved = sweep({"alpha": entry}, 130.0)
    assert moved == [] and roster["alpha"].state == "ok"
    roster, moved = sweep(roster, 130.5)
    assert roster["alpha"].state == "failing" and roster["alpha"].since == 130.5
    assert [(t.before, t.after) for t in moved] == [("ok", "failing")]
    assert "silent" in moved[0].reason and "10s" in moved[0].reason
    assert sweep(roster, 500.0)[1] == []


def test_a_member_never_heard_from_is_never_made_silent() -> None:
    restored = Entry("beta", "unknown", 0.0)
    assert sweep({"beta": restored}, 1e9)[1] == []


def test_a_failing_member_counts_until_its_grace_has_passed() -> None:
    entry, _ = heard(None, beat(100.0, "failing"), 100.0)
    assert counts(entry, 160.0, grace=60.0)
    assert not counts(entry, 160.5, grace=60.0)
    assert discounted({"alpha": entry}, 160.5, grace=60.0) == {"alpha"}


def test_degraded_and_unheard_members_always_count() -> None:
    entry, _ = heard(None, beat(100.0, "degraded"), 100.0)
    assert counts(entry, 1e9, grace=0.0) and counts(None, 1e9, grace=0.0)


def test_a_member_ready_again_counts_again_at_once() -> None:
    entry, _ = heard(None, beat(100.0, "failing"), 100.0)
    assert not counts(entry, 1000.0, grace=60.0)
    entry, moved = heard(entry, beat(1000.0, "ok"), 1000.0)
    assert moved is not None and counts(entry, 1000.0, grace=60.0)


def test_the_roster_rebuilds_from_its_transitions() -> None:
    first, t1 = heard(None, beat(100.0, "ok", interval=5.0), 100.0)
    second, t2 = heard(first, beat(105.0, "failing", interval=5.0), 105.0)
    assert t1 is not None and t2 is not None
    roster = restore([t1, t2])
    assert roster["alpha"].state == "failing" and roster["alpha"].since == 105.0
    assert roster["alpha"].interval == 5.0 and roster["alpha"].checks == second.checks


def test_departed_members_leave_the_roster() -> None:
    entry, _ = heard(None, beat(100.0, "ok"), 100.0)
    assert drop_departed({"alpha": entry, "gone": entry}, ["alpha"]) == {"alpha": entry}


def test_the_summary_of_no_checks_is_ok_and_of_bad_ones_names_them() -> None:
    assert summary([]) == ("ok", "all 0 checks ok")
    state, reason = summary([Check("R1", "a", "failing", "x"), Check("R2", "b", "failing", "y")])
    assert state == "failing" and reason == "R1 failing: x; R2 failing: y"


def test_another_replicas_later_heartbeat_wins_and_a_change_of_state_is_one_transition() -> None:
    mine, _ = heard(None, beat(99.0, "ok"), 100.0)
    theirs, _ = heard(mine, beat(109.0, "failing"), 110.0)
    entry, moved = merged(mine, theirs)
    assert entry.state == "failing" and entry.seen == 110.0 and entry.since == 110.0
    assert moved is not None and (moved.before, moved.after, moved.at) == ("ok", "failing", 110.0)
    # The same row read again, or an older one: nothing changes.
    assert merged(entry, theirs) == (entry, None)
    assert merged(entry, mine) == (entry, None)


def test_a_merged_heartbeat_in_the_same_state_keeps_the_earlier_since() -> None:
    mine, _ = heard(None, beat(99.0, "ok"), 100.0)
    theirs, _ = heard(None, beat(119.0, "ok"), 120.0)
    entry, moved = merged(mine, theirs)
    assert moved is None and entry.since == 100.0 and entry.seen == 120.0


def test_a_member_this_replica_swept_as_silent_is_ready_again_from_anothers_heartbeat() -> None:
    first, _ = heard(None, beat(99.0, "ok"), 100.0)
    silent, _ = sweep({"alpha": first}, 131.0)
    theirs, _ = heard(first, beat(129.0, "ok"), 130.0)
    entry, moved = merged(silent["alpha"], theirs)
    assert entry.state == "ok" and entry.seen == 130.0 and entry.since == 131.0
    assert moved is not None and (moved.before, moved.after) == ("failing", "ok")
    unknown, moved = merged(None, theirs)
    assert unknown == theirs and moved is not None and moved.before == "unknown"
