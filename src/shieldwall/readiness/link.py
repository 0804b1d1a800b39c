"""R1, R2 and R6: the member's link to its hub, judged from what one request saw."""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.readiness.verdict import Check, Thresholds, ago, checker


@dataclass(frozen=True)
class StreamView:
    """What the running agent last said about its decision stream."""

    connected: bool
    #: When the agent wrote this report (its clock).
    reported_at: float
    cursor: int = 0
    head: int = 0


@dataclass(frozen=True)
class HubView:
    """What asking the hub showed; ``error``/``refusal`` say why it could not answer."""

    hub: str = ""
    joined: bool = True
    #: The member state could not be read, or the hub could not be reached.
    error: str | None = None
    #: The hub answered but refused this member's signed request (its reason).
    refusal: str | None = None
    #: The hub's head cursor.
    head: int | None = None
    #: The hub's ``Date`` header (whole seconds), and our clock around the request.
    date: float | None = None
    #: How fine ``date`` is: 1 s for ``Date``, less for the heartbeat answer's clock.
    date_precision: float = 1.0
    sent_at: float = 0.0
    received_at: float = 0.0
    stream: StreamView | None = None


_R1, _R2, _R6 = checker("R1", "hub link"), checker("R2", "stream lag"), checker("R6", "clock skew")
_REJOIN = frozenset({"revoked-key", "unknown-key"})


def check_hub(view: HubView, now: float, limits: Thresholds) -> Check:
    """R1: the hub answers, accepts this member's key, and the agent's stream is up."""
    if not view.joined:
        return _R1("failing", "this host has not joined a hub: run `shieldwall join TOKEN`")
    if view.error is not None:
        return _R1("failing", f"hub {view.hub} unreachable: {view.error}; check the network"
                                 " path and that the hub runs (`shieldwall hub serve`)")
    if view.refusal is not None:
        fix = ("join again with a new token from the hub operator" if view.refusal in _REJOIN
               else "see the hub's log for this member")
        return _R1("failing", f"hub {view.hub} refuses this member ({view.refusal}): {fix}")
    stream = view.stream
    if stream is None:
        return _R1("degraded", f"hub {view.hub} answers, but no running agent reports its"
                                  " decision stream: is `shieldwall agent run` running here?")
    age = now - stream.reported_at
    if age > limits.stream_report_age:
        return _R1("failing", f"hub {view.hub} answers, but the agent last reported its"
                                 f" decision stream {ago(age)} ago: the agent is not running;"
                                 " start it (`shieldwall agent run`)")
    if not stream.connected:
        return _R1("degraded", f"hub {view.hub} answers, but the agent's decision stream is"
                                  " down (it catches up by pages): see the agent's log")
    return _R1("ok", f"hub {view.hub} answers; decision stream connected")


def check_lag(view: HubView, cursor: int | None, limits: Thresholds) -> Check:
    """R2: how many decisions the agent's cursor is behind the hub's head."""
    if view.head is None:
        return _R2("degraded", "not measured: the hub's head is unknown (see R1)")
    if cursor is None:
        return _R2("degraded", "not measured: the agent's cursor is unknown (see R7)")
    head = view.head
    if view.stream is not None:
        cursor = max(cursor, view.stream.cursor)  # the running agent may be ahead of its file
        if view.stream.connected:
            # A live stream's head is the hub's word too, and often newer than the answer's
            # (read before the last decisions arrived, or from a replica a few ms behind).
            # A hub that went back stops the stream itself (HubRegressed), so it is not
            # connected then, and the answer's head alone is compared.
            head = max(head, view.stream.head)
    lag = head - cursor
    if lag < 0:
        return _R2("failing", f"the hub's decision log ends at {head}, before this"
                                 f" member's cursor {cursor}: the hub lost decisions; ask its"
                                 " operator to restore the ledger (on SQLite: `shieldwall hub"
                                 " recover`)")
    where = f"cursor {cursor}, hub head {head}"
    if lag >= limits.lag_failing:
        return _R2("failing", f"{lag} decisions behind ({where}): the agent is not following"
                                 " the hub; check it runs and its log")
    if lag >= limits.lag_degraded:
        return _R2("degraded", f"{lag} decisions behind ({where}): the agent is catching up"
                                  " or stalled; check its log")
    return _R2("ok", f"{lag} decisions behind ({where})")


def clock_skew(view: HubView) -> tuple[float, float] | None:
    """(our clock minus the hub's, uncertainty) in seconds; ``None`` without a Date.

    ``Date`` has whole seconds, so the hub's time was in ``[date, date + 1)`` at some
    moment of the round trip: the estimate is the middle of both intervals (with
    ``date_precision`` instead of 1 s for a finer clock).
    """
    if view.date is None:
        return None
    middle = (view.sent_at + view.received_at) / 2
    half_trip = max(0.0, view.received_at - view.sent_at) / 2
    half = view.date_precision / 2
    return middle - (view.date + half), half + half_trip


def check_clock(view: HubView, limits: Thresholds) -> Check:
    """R6: this host's clock against the hub's, beyond what one request can tell."""
    measured = clock_skew(view)
    if measured is None:
        return _R6("degraded", "not measured: no answer from the hub with a Date (see R1)")
    skew, uncertainty = measured
    beyond = max(0.0, abs(skew) - uncertainty)
    side = "ahead of" if skew > 0 else "behind"
    shown = f"{abs(skew):.1f}s {side} the hub (±{uncertainty:.1f}s)"
    fix = "fix time sync on this host or the hub (e.g. `timedatectl set-ntp true`)"
    if beyond > limits.skew_failing:
        return _R6("failing", f"clock {shown}: the hub refuses signals dated this far off;"
                                 f" {fix}")
    if beyond > limits.skew_degraded:
        return _R6("degraded", f"clock {shown}; {fix}")
    return _R6("ok", f"clock {shown}")
