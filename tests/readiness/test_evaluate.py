"""The whole evaluation: eight checks in order, the worst decides, thresholds are data."""

from __future__ import annotations

import math

import msgspec

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nft_ruleset import TableState
from shieldwall.readiness.evaluate import Observation, evaluate
from shieldwall.readiness.link import HubView, StreamView
from shieldwall.readiness.liveness import SourceView
from shieldwall.readiness.outbox import OutboxView
from shieldwall.readiness.table import EnforcementView
from shieldwall.readiness.verdict import Thresholds, Verdict, ago, worst
from shieldwall.readiness.versions import DrillView, VersionView

NOW = 1_800_000_000.0
BLOCK = Block("192.0.2.1", math.inf)


def ready() -> Observation:
    return Observation(
        hub=HubView(hub="h:1", head=7, date=NOW, sent_at=NOW + 0.5, received_at=NOW + 0.5,
                    stream=StreamView(connected=True, reported_at=NOW)),
        enforcement=EnforcementView(desired={BLOCK.target: BLOCK},
                                    table=TableState({BLOCK.target: math.inf}, (), {})),
        sources=(SourceView("file:/l", last_line_at=NOW - 5),),
        versions=VersionView(local={"sshd": "d1"}, alliance={"sshd": "d1"}),
        outbox=OutboxView("/d", backlog=0, cursor=7, free_bytes=2**40),
        drill=DrillView(passed=True, at=NOW - 60),
    )


def test_a_member_whose_every_check_passes_is_ready() -> None:
    verdict = evaluate(ready(), NOW)
    assert [c.code for c in verdict.checks] == [f"R{n}" for n in range(1, 9)]
    assert verdict.state == "ok" and verdict.ready, verdict


def test_one_failing_check_makes_the_member_failing() -> None:
    seen = ready()
    broken = Observation(**{**seen.__dict__, "hub": HubView(hub="h:1", error="refused")})
    verdict = evaluate(broken, NOW)
    assert verdict.state == "failing" and not verdict.ready
    states = {c.code: c.state for c in verdict.checks}
    # What cannot be measured without the hub says so instead of passing.
    assert states["R1"] == "failing" and states["R2"] == "degraded" and states["R6"] == "degraded"


def test_thresholds_are_data() -> None:
    tight = Thresholds(backlog_degraded=0)
    assert {c.code: c.state for c in evaluate(ready(), NOW, tight).checks}["R7"] == "degraded"


def test_a_verdict_encodes_to_json_for_status_json() -> None:
    data = msgspec.json.decode(msgspec.json.encode(evaluate(ready(), NOW)))
    assert data["checks"][0] == {"code": "R1", "name": "hub link", "state": "ok",
                                 "reason": "hub h:1 answers; decision stream connected"}


def test_worst_orders_the_states() -> None:
    assert worst(()) == "ok"
    assert worst(("ok", "failing", "degraded")) == "failing"
    assert Verdict(at=NOW, checks=()).ready


def test_ages_read_like_people_say_them() -> None:
    assert [ago(s) for s in (45, 600, 9000, 5 * 86400)] == ["45s", "10m", "2.5h", "5d"]
