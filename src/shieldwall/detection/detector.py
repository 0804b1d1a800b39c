"""The detector: events in, detections out, on log time.

Exact sliding windows: for a threshold of N, only the N most recent events of
an address matter (the window holds when the N-th most recent is within it),
so each address costs at most N timestamps per scenario. Idle addresses are
swept as log time advances, and the number of tracked addresses is capped, so
memory stays bounded whatever the log holds; past detections are not kept
(unless a replay asks for its ``history``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from shieldwall.addresses import Ranges
from shieldwall.detection.detection import MAX_EVIDENCE, Detection
from shieldwall.detection.scenario import Scenario
from shieldwall.events import engine as engines
from shieldwall.events.event import Event

_V = TypeVar("_V")

SWEEP_EVERY = 60.0
MAX_KEYS_PER_SCENARIO = 200_000


@dataclass
class _State:
    """One scenario's windows and its detections still in their quiet period."""

    scenario: Scenario
    #: Per address: its most recent (time, line), at most ``threshold`` of them.
    windows: dict[str, list[tuple[float, bytes]]] = field(default_factory=dict)
    users: dict[str, dict[str, float]] = field(default_factory=dict)
    active: dict[str, Detection] = field(default_factory=dict)
    # Copied from the scenario: read on every event.
    threshold: int = 0
    distinct: bool = False
    quiet: float = 0.0
    local_block: float | None = None

    def __post_init__(self) -> None:
        self.threshold = self.scenario.threshold
        self.distinct = self.scenario.distinct is not None
        self.quiet = self.scenario.quiet_period
        # A plain float: detections are encoded as JSON (replay) and signals.
        block = self.scenario.local_block
        self.local_block = None if block is None else float(block)


class Detector:
    """Runs scenarios over events; pure and deterministic."""

    def __init__(
        self,
        scenarios: Iterable[Scenario],
        exempt: Ranges | None = None,
        *,
        max_keys: int = MAX_KEYS_PER_SCENARIO,
        keep_evidence: bool = True,
        history: bool = False,
        engine: str = "auto",
    ) -> None:
        self.states = [_State(s) for s in scenarios]
        #: Which loop feeds it (:mod:`shieldwall.events.engine`): ``"compiled"`` or ``"python"``.
        self.engine = engines.wanted(engine)
        self._fast_states: tuple[tuple[object, ...], ...] | None = None
        #: Addresses and ranges never detected here (``detection.allow``).
        self.exempt = exempt or Ranges()
        self.max_keys = max_keys
        self.keep_evidence = keep_evidence
        self.allowed_events = 0
        #: pack -> kind -> the scenario states that count it (two plain lookups per event).
        self._route: dict[str, dict[str, list[_State]]] = {}
        for state in self.states:
            for pack in state.scenario.packs:
                for kind in state.scenario.kinds:
                    self._route.setdefault(pack, {}).setdefault(kind, []).append(state)
        self._next_sweep: float | None = None
        self._since_sweep = 0
        self._sweep_budget = 0
        #: Every detection made, for a replay that reports them at the end; ``None``
        #: in the agent, which runs for months: it holds only what is live in a window.
        self.detections: list[Detection] | None = [] if history else None

    def tracked(self) -> int:
        """How many (scenario, address) windows are held right now."""
        return sum(len(s.windows) + len(s.users) + len(s.active) for s in self.states)

    def feed(self, events: Iterable[Event]) -> list[Detection]:
        """Observe events in log order; return the detections they trigger."""
        if self.engine == "compiled":
            return self._feed_compiled(events if isinstance(events, list) else list(events))
        found: list[Detection] = []
        route = self._route
        allows = self.exempt.covers if len(self.exempt) else None
        keep = self.keep_evidence
        for event in events:
            kinds = route.get(event.pack)
            if kinds is None:
                continue
            states = kinds.get(event.kind)
            if states is None:
                continue
            t = event.time
            self._since_sweep += 1
            if self._next_sweep is None:
                self._next_sweep = t + SWEEP_EVERY
            elif t >= self._next_sweep and self._since_sweep >= self._sweep_budget:
                self.sweep(t)
            key = event.key
            if allows is not None and allows(key):
                self.allowed_events += 1
                continue
            for state in states:
                active = state.active.get(key)
                if active is not None:
                    if t < active.last_seen + state.quiet or t < active.first_seen:
                        active.count += event.weight
                        if t > active.last_seen:
                            active.last_seen = t
                        if keep and len(active.evidence) < MAX_EVIDENCE:
                            active.evidence.append(event.line)
                        continue
                    del state.active[key]
                detection = (
                    self._distinct(state, key, event)
                    if state.distinct
                    else self._count(state, key, event)
                )
                if detection is not None:
                    state.active[key] = detection
                    found.append(detection)
        if self.detections is not None:
            self.detections.extend(found)
        return found

    def _feed_compiled(self, events: list[Event]) -> list[Detection]:
        """The same loop in C (events/_engine.c), over these same tables."""
        module = engines.compiled
        assert module is not None
        if self._fast_states is None:
            self._fast_states = tuple(
                (s, s.windows, s.users, s.active, s.threshold, s.distinct, s.quiet,
                 float(s.scenario.window))
                for s in self.states
            )
        covers = self.exempt.covers if len(self.exempt) else None
        found: list[Detection]
        found, allowed = module.detect(
            self, events, self._route, self._fast_states, self.keep_evidence, MAX_EVIDENCE, covers,
            self._count, self._distinct, self._fire_distinct, self.sweep, SWEEP_EVERY, self.max_keys,
            # A subclass's own sweep runs as Python; Detector.sweep runs in C.
            type(self).sweep is Detector.sweep,
            # A window that fills makes its Detection in C, as _count would (unless overridden).
            Detection if type(self)._count is Detector._count else None,
        )
        self.allowed_events += allowed
        if self.detections is not None:
            self.detections.extend(found)
        return found

    def _count(self, state: _State, key: str, event: Event) -> Detection | None:
        threshold = state.threshold
        window = state.windows.get(key)
        if window is None:
            if len(state.windows) >= self.max_keys:
                self._evict(state.windows)
            # A list, not a deque: an empty deque alone takes ~600 bytes, and
            # there is one window per address and scenario.
            window = state.windows[key] = []
        t = event.time
        weight = event.weight
        scenario = state.scenario
        if window and t < window[-1][0] - scenario.window:
            # Log time went back further than the window (several files replayed
            # newest first, a clock reset): the later events cannot share a
            # window with this one.
            window.clear()
        if weight == 1:
            window.append((t, event.line))
            if len(window) < threshold:
                return None
            if len(window) > threshold:
                del window[0]
            if t - window[0][0] > scenario.window:
                return None
            # The window holds the threshold most recent events, all within it (in
            # arrival order: files replayed out of order can put a later one first).
            times = [when for when, _ in window]
            first_seen, last_seen, count = min(times), max(times), threshold
        else:
            # "message repeated N times": N events at once. Count exactly those
            # of the window that are still within it, even when N pushes them out.
            horizon = t - scenario.window
            recent = [when for when, _ in window if when >= horizon]
            item = (t, event.line)
            window.extend([item] * min(weight, threshold))
            del window[:-threshold]
            count = len(recent) + weight
            if count < threshold:
                return None
            first_seen, last_seen = min([*recent, t]), max([*recent, t])
        del state.windows[key]
        return Detection(
            key=key,
            scenario=scenario.name,
            pack=event.pack,
            count=count,
            first_seen=first_seen,
            last_seen=last_seen,
            local_block=state.local_block,
            evidence=_sample(window) if self.keep_evidence else [],
        )

    def _distinct(self, state: _State, key: str, event: Event) -> Detection | None:
        user = event.user
        if user is None:
            return None
        scenario = state.scenario
        seen = state.users.get(key)
        if seen is None:
            if len(state.users) >= self.max_keys:
                self._evict(state.users)
            seen = state.users[key] = {}
        if seen and event.time < next(reversed(seen.values())) - scenario.window:
            seen.clear()  # log time went back further than the window (see _count)
        seen.pop(user, None)
        seen[user] = event.time  # insertion order = recency order
        horizon = event.time - scenario.window
        while True:
            oldest = next(iter(seen))
            if seen[oldest] >= horizon:
                break
            del seen[oldest]  # never the user just added: its time is not before the horizon
        if len(seen) < scenario.threshold:
            return None
        return self._fire_distinct(state, key, event, seen)

    def _fire_distinct(self, state: _State, key: str, event: Event, seen: dict[str, float]) -> Detection:
        """The detection of ``threshold`` distinct users now in ``seen`` (the compiled loop's too)."""
        scenario = state.scenario
        del state.users[key]
        return Detection(
            key=key,
            scenario=scenario.name,
            pack=event.pack,
            count=len(seen),
            first_seen=min(seen.values()),
            last_seen=max(seen.values()),
            local_block=state.local_block,
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
            for key in [k for k, d in state.active.items() if d.last_seen + state.quiet < now]:
                del state.active[key]
        self._next_sweep = now + SWEEP_EVERY
        # A sweep costs one step per tracked window: wait for as many events as
        # there are windows before the next, so that sweeping costs at most one
        # step per event whatever the log's rate and width (idle windows then
        # outlive their time by at most that many events: memory stays bounded).
        self._since_sweep = 0
        self._sweep_budget = self.tracked()

    @staticmethod
    def _evict(table: dict[str, _V]) -> None:
        # Insertion order approximates age: drop the oldest tenth rather than grow.
        for key in list(table)[: max(1, len(table) // 10)]:
            del table[key]


def _sample(window: list[tuple[float, bytes]]) -> list[bytes]:
    lines: list[bytes] = []
    for _, line in window:
        if not lines or lines[-1] is not line:
            lines.append(line)
    return lines[-MAX_EVIDENCE:]
