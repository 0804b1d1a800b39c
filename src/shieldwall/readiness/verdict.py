"""Check results, the verdict that gathers them, and the thresholds that judge them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

from shieldwall.config import Duration, Section

State = Literal["ok", "degraded", "failing"]
_RANK: dict[State, int] = {"ok": 0, "degraded": 1, "failing": 2}


class Check(msgspec.Struct, frozen=True):
    """One check's outcome: ``reason`` says what was seen and what to do about it."""

    code: str
    name: str
    state: State
    reason: str


def checker(code: str, name: str) -> Callable[[State, str], Check]:
    """A maker of ``code``'s results: ``R1 = checker("R1", "hub link"); R1("ok", "...")``."""
    return lambda state, reason: Check(code, name, state, reason)


def worst(states: list[State] | tuple[State, ...]) -> State:
    """The most serious of ``states`` (``ok`` for none)."""
    return max(states, key=_RANK.__getitem__, default="ok")


class Verdict(msgspec.Struct, frozen=True):
    """Every check, in order, and when they were judged."""

    at: float
    checks: tuple[Check, ...]

    @property
    def state(self) -> State:
        """The member's overall state: its worst check."""
        return worst(tuple(c.state for c in self.checks))

    @property
    def ready(self) -> bool:
        """True only when every check is ok."""
        return self.state == "ok"


def document(verdict: Verdict) -> bytes:
    """The JSON document of ``status --json`` and ``/readyz``: state, readiness, checks."""
    return msgspec.json.format(msgspec.json.encode({
        "state": verdict.state, "ready": verdict.ready, "at": verdict.at,
        "checks": verdict.checks,
    }))


_Count = Annotated[int, msgspec.Meta(ge=0)]
_Positive = Annotated[float, msgspec.Meta(gt=0)]


class Thresholds(Section, frozen=True):
    """Where each check turns degraded or failing: ``agent.toml``'s ``[readiness]`` table."""

    #: How often the running agent checks itself and sends the hub its heartbeat
    #: (1 s to 1 h; the hub marks it failing after three silent intervals).
    interval: Duration = Duration(30.0)
    #: ``host:port`` on loopback where the agent answers ``/healthz`` and ``/readyz``
    #: ("" = off, the default: see the README's readiness section).
    listen: str = ""
    #: R1/R2/R6: how long one request to the hub may take.
    hub_timeout: Duration = Duration(5.0)
    #: R1: a running agent's stream report older than this means the agent is not running.
    stream_report_age: Duration = Duration(30.0)
    #: R2: decisions behind the hub's head.
    lag_degraded: _Count = 100
    lag_failing: _Count = 10_000
    #: R3: blocks sampled from the store and looked up in the table (``--full``: all).
    table_sample: _Count = 256
    #: R4: a source is stale when its last line is older than ``stale_factor`` times its
    #: usual gap, and older than ``stale_min``; ``stale_default`` while no gap is known.
    stale_factor: _Positive = 10.0
    stale_min: Duration = Duration(900.0)
    stale_default: Duration = Duration(6 * 3600.0)
    #: R4: gaps seen before the per-source estimate is trusted.
    gap_samples: _Count = 3
    #: R6: seconds apart from the hub's clock, beyond the measurement's uncertainty.
    skew_degraded: Duration = Duration(5.0)
    #: The hub refuses envelopes dated more than 60 s ahead (signals.envelope max_skew).
    skew_failing: Duration = Duration(60.0)
    #: R7: signals waiting in the outbox.
    backlog_degraded: _Count = 1_000
    backlog_failing: _Count = 100_000
    #: R7: free bytes left on the data directory's file system.
    disk_degraded: _Count = 512 * 1024 * 1024
    disk_failing: _Count = 64 * 1024 * 1024
    #: R8: a passed drill older than this no longer proves the chain.
    drill_age: Duration = Duration(30 * 86400.0)


DEFAULT_THRESHOLDS = Thresholds()


def plural(count: int, noun: str) -> str:
    """``1 block``, ``2 blocks``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def ago(seconds: float) -> str:
    """A short human duration: ``45s``, ``12m``, ``3.5h``, ``2d``."""
    value = abs(seconds)
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.0f}m"
    if value < 2 * 86400:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.0f}d"
