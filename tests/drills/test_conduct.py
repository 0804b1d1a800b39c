"""The hub's side of a drill: decide once, lift always, stop on a late stage or a protected hit."""

from __future__ import annotations

from shieldwall.drills.conduct import Conductor, Decide, Finish, Lift
from shieldwall.drills.order import OrderBody
from shieldwall.drills.stage import StageReport
from shieldwall.signals.signal import Signal

T0 = 1_800_000_000.0
MEMBERS = ("a", "b", "c")


def order(**changes: object) -> OrderBody:
    fields: dict[str, object] = {"id": "drill-0123abcd", "target": "192.0.2.7", "issued": int(T0),
                                 "ttl": 120, "members": MEMBERS}
    fields.update(changes)
    return OrderBody(**fields)  # type: ignore[arg-type]


def rep(member: str, stage: str, at: float, ok: bool = True, **extra: object) -> StageReport:
    return StageReport(drill="drill-0123abcd", member=member, stage=stage,  # type: ignore[arg-type]
                       ok=ok, started=at - 0.01, at=at, **extra)  # type: ignore[arg-type]


SIGNAL = Signal(kind="detection", target="192.0.2.7", scenario="ssh-bruteforce", count=5)


def up_to_signal(c: Conductor, member: str, t: float) -> list[object]:
    actions: list[object] = []
    actions += c.stage(rep(member, "accept", t), t)
    actions += c.stage(rep(member, "detect", t + 0.01), t + 0.01)
    actions += c.stage(rep(member, "signal", t + 0.02, signal=SIGNAL), t + 0.03)
    return actions


def test_a_drill_decides_once_lifts_once_and_reports_every_member_passing() -> None:
    c = Conductor(order(), T0)
    first = up_to_signal(c, "a", T0 + 0.1)
    assert [type(a) for a in first] == [Decide]
    assert up_to_signal(c, "b", T0 + 0.2) == [] and up_to_signal(c, "c", T0 + 0.2) == []
    assert c.decided(7, T0 + 0.25) == []
    for m in MEMBERS:
        c.stage(rep(m, "push", T0 + 0.3, cursor=7), T0 + 0.3)
    actions = c.stage(rep("c", "enforce", T0 + 0.4, cursor=7), T0 + 0.4)
    assert actions == []
    c.stage(rep("a", "enforce", T0 + 0.35), T0 + 0.35)
    assert [type(a) for a in c.stage(rep("b", "enforce", T0 + 0.36), T0 + 0.36)] == [Lift]
    assert c.lifted(8, T0 + 0.5) == []
    c.stage(rep("a", "lift", T0 + 0.6), T0 + 0.6)
    c.stage(rep("b", "lift", T0 + 0.6), T0 + 0.6)
    done = c.stage(rep("c", "lift", T0 + 0.7), T0 + 0.7)
    assert len(done) == 1 and isinstance(done[0], Finish)
    report = done[0].report
    assert report.passed and not report.aborted and (report.decision, report.lift) == (7, 8)
    a = report.member("a")
    assert a is not None and a.passed
    assert [s.stage for s in a.stages] == ["accept", "detect", "signal", "decide", "push",
                                           "enforce", "lift"]
    assert report.on_all is not None and abs(report.on_all - (0.4 - 0.11)) < 1e-6
    assert c.tick(T0 + 100) == [] and c.finished


def test_a_member_whose_order_never_arrives_fails_and_the_drill_stops_and_lifts() -> None:
    c = Conductor(order(), T0)
    up_to_signal(c, "a", T0 + 0.1)
    c.decided(7, T0 + 0.2)
    c.stage(rep("a", "push", T0 + 0.3), T0 + 0.3)
    c.stage(rep("a", "enforce", T0 + 0.4), T0 + 0.4)
    up_to_signal(c, "b", T0 + 0.1)
    c.stage(rep("b", "push", T0 + 0.3), T0 + 0.3)
    c.stage(rep("b", "enforce", T0 + 0.4), T0 + 0.4)
    assert c.tick(T0 + 5) == []  # c may still be polling
    actions = c.tick(T0 + 10.5)
    assert [type(a) for a in actions] == [Lift]
    assert "c: push stage over its limit" in c.record.aborted
    c.lifted(8, T0 + 10.6)
    c.stage(rep("a", "lift", T0 + 10.7), T0 + 10.7)
    done = c.stage(rep("b", "lift", T0 + 10.7), T0 + 10.7)
    assert len(done) == 1 and isinstance(done[0], Finish)
    row = done[0].report.member("c")
    assert row is not None and not row.passed and row.why.startswith("push: the order never")
    assert done[0].report.on_all is None and not done[0].report.passed


def test_a_late_push_fails_that_member_and_stops_the_drill() -> None:
    c = Conductor(order(), T0)
    for m in MEMBERS:
        up_to_signal(c, m, T0 + 0.1)
    c.decided(7, T0 + 0.2)
    c.stage(rep("a", "push", T0 + 0.3), T0 + 0.3)
    c.stage(rep("a", "enforce", T0 + 0.4), T0 + 0.4)
    c.stage(rep("b", "push", T0 + 0.3), T0 + 0.3)
    c.stage(rep("b", "enforce", T0 + 0.4), T0 + 0.4)
    assert c.tick(T0 + 10.1) == []  # within the push limit
    assert [type(a) for a in c.tick(T0 + 10.3)] == [Lift]
    assert c.record.tracks["c"].failed["push"].startswith("no push report")


def test_a_protected_hit_stops_the_drill_at_once() -> None:
    c = Conductor(order(), T0)
    for m in MEMBERS:
        up_to_signal(c, m, T0 + 0.1)
    c.decided(7, T0 + 0.2)
    c.stage(rep("a", "push", T0 + 0.3), T0 + 0.3)
    actions = c.stage(rep("a", "enforce", T0 + 0.3, ok=False, failure="protected",
                          detail="enforce.allow covers it"), T0 + 0.3)
    assert [type(a) for a in actions] == [Lift] and "protects the drill target" in c.record.aborted


def test_a_target_outside_the_documentation_ranges_is_never_decided() -> None:
    c = Conductor(order(target="8.8.8.8"), T0)
    assert c.record.aborted
    for m in MEMBERS:
        actions = c.stage(rep(m, "accept", T0 + 0.1, ok=False, failure="refused",
                              detail="target: outside"), T0 + 0.1)
        assert not any(isinstance(a, Decide) for a in actions)
    assert c.finished
    report = c.record
    assert report.decision == 0


def test_a_target_the_hub_protects_is_never_decided() -> None:
    c = Conductor(order(), T0, protected="never-block: ops")
    actions = up_to_signal(c, "a", T0 + 0.1) + up_to_signal(c, "b", T0 + 0.1)
    assert actions == []  # c's word on the order is still awaited
    done = c.tick(T0 + 10.5)  # ... until its accept limit
    assert [type(a) for a in done] == [Finish] and "protected on the hub" in c.record.aborted


def test_a_signal_for_another_address_does_not_decide() -> None:
    c = Conductor(order(members=("a",)), T0)
    c.stage(rep("a", "accept", T0), T0)
    c.stage(rep("a", "detect", T0), T0)
    wrong = Signal(kind="detection", target="192.0.2.8", scenario="x", count=5)
    actions = c.stage(rep("a", "signal", T0, signal=wrong), T0)
    assert [type(a) for a in actions] == [Finish]
    assert not actions[0].report.passed  # type: ignore[union-attr]


def test_reports_from_strangers_and_duplicates_change_nothing() -> None:
    c = Conductor(order(), T0)
    assert c.stage(rep("mallory", "signal", T0, signal=SIGNAL), T0) == []
    up_to_signal(c, "a", T0)
    assert c.stage(rep("a", "signal", T0 + 1, signal=SIGNAL), T0 + 1) == []


def test_an_abort_while_the_decision_is_written_still_lifts_it() -> None:
    c = Conductor(order(), T0)
    assert [type(a) for a in up_to_signal(c, "a", T0)] == [Decide]
    assert c.abort("operator interrupted", T0 + 0.1) == []
    assert [type(a) for a in c.decided(7, T0 + 0.2)] == [Lift]


def test_a_detect_only_drill_finishes_without_any_decision() -> None:
    c = Conductor(order(stages=("detect",), members=("a",)), T0)
    c.stage(rep("a", "accept", T0), T0)
    actions = c.stage(rep("a", "detect", T0 + 0.01), T0 + 0.01)
    assert [type(a) for a in actions] == [Finish]
    assert actions[0].report.passed  # type: ignore[union-attr]


def test_a_failed_write_aborts_and_finishes() -> None:
    c = Conductor(order(members=("a",)), T0)
    up_to_signal(c, "a", T0)
    actions = c.write_failed("ledger write failed", T0 + 0.1)
    assert [type(a) for a in actions] == [Finish]


def test_the_ttl_is_a_hard_stop() -> None:
    c = Conductor(order(ttl=60), T0)
    for m in MEMBERS:
        up_to_signal(c, m, T0)
    c.decided(7, T0 + 0.1)
    for m in MEMBERS:
        c.stage(rep(m, "push", T0 + 0.2), T0 + 0.2)
        c.stage(rep(m, "enforce", T0 + 0.3), T0 + 0.3)
    c.lifted(8, T0 + 0.4)
    assert c.tick(T0 + 3) == []
    actions = c.tick(T0 + 61)
    assert [type(a) for a in actions] == [Finish] and c.record.aborted
