"""The hub's side of one drill, pure: stage reports and ticks in, actions out.

The conductor never touches the real intake or policy: drill signals reach it on
their own endpoint and are decided here, so they cannot count toward any real
quorum. What it proves of the hub is the rest of the chain: a decision appended
to the real decision log (flagged with the drill id) and pushed to every member
over the real stream.

Decide: on the first passing ``signal`` stage whose signal names the drill target.
Lift: once every member has enforced or failed, or at once on a stop condition.
Stop conditions (the drill aborts and lifts): a stage later than its limit, a
member that hit a protected address, a target outside the documentation ranges
(then nothing is ever decided). Finish: when every member that received the
decision has reported the lift, or the lift's own limit passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.drills.order import OrderBody, covers, target_refusal
from shieldwall.drills.report import DrillReport, Record, Track, build_report
from shieldwall.drills.stage import StageReport


@dataclass(frozen=True, slots=True)
class Decide:
    """Append the drill block to the decision log; then call :meth:`Conductor.decided`."""

    drill: str
    target: str
    until: float


@dataclass(frozen=True, slots=True)
class Lift:
    """Append the drill's lift; then call :meth:`Conductor.lifted`."""

    drill: str
    target: str


@dataclass(frozen=True, slots=True)
class Finish:
    """Store the report; the drill is over."""

    report: DrillReport


Action = Decide | Lift | Finish
#: What a member reports after ``stage``, given the order's stages.
_NEXT = {"accept": "detect", "detect": "signal", "signal": "push", "push": "enforce",
         "enforce": "lift"}


class Conductor:
    """One drill on the hub; see the module docstring."""

    def __init__(self, order: OrderBody, now: float, protected: str | None = None,
                 refused: str | None = None, issuer: str = "") -> None:
        self.order = order
        self.record = Record(order, now, {m: Track() for m in order.members}, issuer=issuer)
        self.finished = False
        self._lifting = False
        self._deciding = False
        # An order the hub refuses (not signed by whoever may order drills now) is still
        # conducted, never decided: members' refusals belong in its report too.
        why = None if refused is None else f"refused by the hub: {refused}"
        why = why or target_refusal(order.target)
        if why is None and protected is not None:
            why = f"the drill target {order.target} is protected on the hub ({protected})"
        if why is not None:
            self.record.aborted = why

    # -- inputs -----------------------------------------------------------------

    def stage(self, report: StageReport, now: float) -> list[Action]:
        """A member's stage report arrived (already verified) at hub time ``now``."""
        track = self.record.tracks.get(report.member)
        if self.finished or track is None or report.stage in track.reports:
            return []
        track.reports[report.stage] = report
        track.received[report.stage] = now
        if report.failure == "protected":
            self._abort(f"{report.member} protects the drill target: {report.detail}")
        elif report.stage == "signal" and report.ok and not self._deciding:
            if report.signal is None or not covers(report.signal.target, self.order.target):
                track.failed["signal"] = "the drill signal does not name the drill target"
            elif self.order.runs("decide") and not self.record.aborted:
                self._deciding = True
                until = min(float(self.order.expires), now + self.order.ttl)
                return [Decide(self.order.id, self.order.target, until), *self.tick(now)]
            elif not self.order.runs("decide"):
                self.record.decided_at = now  # the decision is computed, never written
        return self.tick(now)

    def abort(self, why: str, now: float) -> list[Action]:
        """Stop the drill (the operator interrupted, the hub shuts down): lift and finish."""
        self._abort(why)
        return self.tick(now)

    def write_failed(self, why: str, now: float) -> list[Action]:
        """The drill block could not be written: nothing to lift; stop."""
        self._deciding = False
        return self.abort(why, now)

    def decided(self, cursor: int, now: float) -> list[Action]:
        """The drill block is durable under ``cursor``."""
        self.record.decision, self.record.decided_at = cursor, now
        return self.tick(now)

    def lifted(self, cursor: int, now: float) -> list[Action]:
        """The drill's lift is durable under ``cursor``."""
        self.record.lift, self.record.lift_at = cursor, now
        return self.tick(now)

    def tick(self, now: float) -> list[Action]:
        """Check every deadline; lift and finish when the time has come."""
        if self.finished:
            return []
        for name, track in self.record.tracks.items():
            due = self._deadline(track)
            if due is not None and now > due[1]:
                stage, limit = due[0], self.order.limit(due[0])
                if stage == "accept":
                    # Silent from the start: nothing the hub pushed (the order) reached it.
                    track.failed["push"] = (f"the order never reached this member within"
                                            f" {limit:.0f} s (link down, agent stopped?)")
                else:
                    track.failed[stage] = f"no {stage} report within {limit:.0f} s"
                self._abort(f"{name}: {'push' if stage == 'accept' else stage} stage over its"
                            f" limit of {limit:.0f} s")
        if now >= self.order.expires:
            self._abort("the order's time to live ran out")
        actions: list[Action] = []
        written = self.record.decision > 0
        settled = all(self._deadline(t) is None or (written and self._waits_lift(t))
                      for t in self.record.tracks.values())
        if written and not self._lifting and (self.record.aborted or settled):
            self._lifting = True
            actions.append(Lift(self.order.id, self.order.target))
        lift_over = (self.record.lift_at is not None
                     and now > self.record.lift_at + self.order.limit("lift"))
        if self._deciding and not written:
            return actions  # a decision is being written: it must be lifted, not forgotten
        # Stopped before any decision: still wait for every member's word on the order
        # (a refusal belongs in the report), at most until its accept limit.
        accepting = any("accept" not in t.reports and not t.failed
                        for t in self.record.tracks.values())
        if (not written and ((self.record.aborted and not accepting) or settled)) or (
            self.record.lift_at is not None
            and (lift_over or all(self._deadline(t) is None for t in self.record.tracks.values()))
        ):
            self.finished = True
            actions.append(Finish(build_report(self.record, now)))
        return actions

    # -- deadlines ----------------------------------------------------------------

    def _abort(self, why: str) -> None:
        if not self.record.aborted:
            self.record.aborted = why

    def _waits_lift(self, track: Track) -> bool:
        due = self._deadline(track)
        return due is not None and due[0] == "lift"

    def _deadline(self, track: Track) -> tuple[str, float] | None:
        """The stage this member owes next and by when (hub time); ``None``: nothing owed."""
        order, record = self.order, self.record
        if track.failed or any(not r.ok for r in track.reports.values()):
            # A failed member owes nothing more, except the lift of what it may hold.
            if "push" in track.reports and "lift" not in track.reports and record.lift_at:
                return "lift", record.lift_at + order.limit("lift")
            return None
        if "accept" not in track.reports:
            return "accept", record.started + order.limit("accept")
        last = max(track.reports, key=lambda s: list(_NEXT).index(s) if s in _NEXT else 9)
        stage = _NEXT.get(last)
        if stage is None or not order.runs(stage):
            return None
        if stage == "push":
            if record.decided_at is None or record.decision == 0:
                return None  # nothing was pushed yet (the decide limit is the hub's own)
            return "push", record.decided_at + order.limit("push")
        if stage == "lift":
            if record.lift_at is None:
                return "lift", float("inf")
            return "lift", record.lift_at + order.limit("lift")
        return stage, track.received[last] + order.limit(stage)
