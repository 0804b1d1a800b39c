"""The detector: events in, detections out, on log time.

Exact sliding windows: for a threshold of N, only the N most recent events of
an address matter (the window holds when the N-th most recent is within it),
so each address costs at most N timestamps per scenario. Idle addresses are
swept as log time advances, and the number of tracked addresses is capped, so
memory stays bounded whatever the log holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from shieldwall.detection.allowlist import Allowlist
from shieldwall.detection.detection import MAX_EVIDENCE, Detection
from shieldwall.detection.scenario import Scenario
from shieldwall.events.event import Event

_V = TypeVar("_V")

SWEEP_EVERY = 60.0
MAX_KEYS_PER_SCENARIO = 200_000


@dataclass
class _State:
    """One scenario's windows and its detections still in their quiet period."""

    scenario: Scenario
    windows: dict[str, deque[tuple[float, bytes]]] = field(default_factory=dict)
    users: dict[str, dict[str, float]] = field(default_factory=dict)
    active: dict[str, Detection] = field(default_factory=dict)


class Detector:
    """Runs scenarios over events; pure and deterministic."""

    def __init__(
        self,
        scenarios: Iterable[Scenario],
        allowlist: Allowlist | None = None,
        *,
        max_keys: int = MAX_KEYS_PER_SCENARIO,
        keep_evidence: bool = True,
    ) -> None:
        self.states = [_State(s) for s in scenarios]
        self.allowlist = allowlist or Allowlist()
        self.max_keys = max_keys
        self.keep_evidence = keep_evidence
        self.allowed_events = 0
        self._route: dict[tuple[str, str], list[_State]] = {}
        for state in self.states:
            for pack in state.scenario.packs:
                for kind in state.scenario.kinds:
                    self._route.setdefault((pack, kind), []).append(state)
        self._next_sweep: float | None = None
        self.detections: list[Detection] = []

    def tracked(self) -> int:
        """How many (scenario, address) windows are held right now."""
        return sum(len(s.windows) + len(s.users) + len(s.active) for s in self.states)

    def feed(self, events: Iterable[Event]) -> list[Detection]:
        """Observe events in log order; return the detections they trigger."""
        found: list[Detection] = []
        route = self._route
        allows = self.allowlist.allows if len(self.allowlist) else None
        for event in events:
            states = route.get((event.pack, event.kind))
            if not states:
                continue
            t = event.time
            if self._next_sweep is None:
                self._next_sweep = t + SWEEP_EVERY
            elif t >= self._next_sweep:
                self.sweep(t)
            key = event.key
            if allows is not None and allows(key):
                self.allowed_events += 1
                continue
            for state in states:
                active = state.active.get(key)
                if active is not None:
                    if t < active.last_seen + state.scenario.duration or t < active.first_seen:
                        active.count += event.weight
                        active.last_seen = max(active.last_seen, t)
                        if len(active.evidence) < MAX_EVIDENCE and self.keep_evidence:
                            active.evidence.append(event.line)
                        continue
                    del state.active[key]
                detection = (
                    self._distinct(state, key, event)
                    if state.scenario.distinct
                    else self._count(state, key, event)
                )
                if detection is not None:
                    state.active[key] = detection
                    found.append(detection)
        self.detections.extend(found)
        return found

    def _count(self, state: _State, key: str, event: Event) -> Detection | None:
        scenario = state.scenario
        window = state.windows.get(key)
        if window is None:
            if len(state.windows) >= self.max_keys:
                self._evict(state.windows)
            window = state.windows[key] = deque(maxlen=scenario.threshold)
        before = len(window)
        oldest = window[0][0] if before else event.time
        item = (event.time, event.line)
        for _ in range(min(event.weight, scenario.threshold)):
            window.append(item)
        if len(window) < scenario.threshold or event.time - window[0][0] > scenario.window:
            return None
        del state.windows[key]
        # A weighted line ("message repeated 5 times") may push older events out
        # of the bounded window; they still count when they were within it.
        if event.time - oldest <= scenario.window:
            first_seen, count = oldest, before + event.weight
        else:
            first_seen, count = window[0][0], scenario.threshold
        return Detection(
            key=key,
            scenario=scenario.name,
            pack=event.pack,
            count=count,
            first_seen=first_seen,
            last_seen=event.time,
            confirmed=scenario.confirmed,
            duration=scenario.duration,
            evidence=_sample(window) if self.keep_evidence else [],
        )

    def _distinct(self, state: _State, key: str, event: Event) -> Detection | None:
        if event.user is None:
            return None
        scenario = state.scenario
        seen = state.users.get(key)
        if seen is None:
            if len(state.users) >= self.max_keys:
                self._evict(state.users)
            seen = state.users[key] = {}
        seen.pop(event.user, None)
        seen[event.user] = event.time  # insertion order = recency order
        horizon = event.time - scenario.window
        for user, when in list(seen.items()):
            if when >= horizon:
                break
            del seen[user]
        if len(seen) < scenario.threshold:
            if len(seen) > scenario.threshold * 4:
                for user in list(seen)[: len(seen) - scenario.threshold]:
                    del seen[user]
            return None
        del state.users[key]
        return Detection(
            key=key,
            scenario=scenario.name,
            pack=event.pack,
            count=len(seen),
            first_seen=min(seen.values()),
            last_seen=event.time,
            confirmed=scenario.confirmed,
            duration=scenario.duration,
            evidence=[event.line] if self.keep_evidence else [],
            users=len(seen),
        )

    def sweep(self, now: float) -> None:
        """Forget windows that went idle and detections whose quiet period ended."""
        for state in self.states:
            horizon = now - state.scenario.window
            for key in [k for k, w in state.windows.items() if w[-1][0] < horizon]:
                del state.windows[key]
            for key in [k for k, u in state.users.items() if not u or max(u.values()) < horizon]:
                del state.users[key]
            for key in [
                k for k, d in state.active.items() if d.last_seen + state.scenario.duration < now
            ]:
                del state.active[key]
        self._next_sweep = now + SWEEP_EVERY

    @staticmethod
    def _evict(table: dict[str, _V]) -> None:
        # Insertion order approximates age: drop the oldest tenth rather than grow.
        for key in list(table)[: max(1, len(table) // 10)]:
            del table[key]


def _sample(window: deque[tuple[float, bytes]]) -> list[bytes]:
    lines: list[bytes] = []
    for _, line in window:
        if not lines or lines[-1] is not line:
            lines.append(line)
    return lines[-MAX_EVIDENCE:]
