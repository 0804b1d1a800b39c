"""What stands between one live source's events and the detector, in the agent.

``shieldwall replay`` and the agent apply the same three rules to a source's
events (see :mod:`.proxies` and :mod:`.reorder`):

* events blaming a declared proxy or this host's own address are refused (one
  :class:`~.proxies.ProxyGuard` for the whole agent);
* each source's events are put back in log-time order within a bound (one
  :class:`~.reorder.Reorder` per source: each has its own time line); a source
  that has been quiet for ``bound`` seconds of wall time releases what it holds,
  so a live attack that stops is still detected;
* on access logs, one client address with an implausible number of distinct user
  agents is named once (a :class:`~.proxies.UserAgentSpread` per source: it is
  probably an undeclared proxy).

Pure: the wall time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shieldwall.detection.proxies import ProxyGuard, UserAgentSpread
from shieldwall.detection.reorder import DEFAULT_BOUND, Reorder
from shieldwall.events.event import Event

#: Bytes of each chunk's start looked at for user agents (a sample: the spread shows soon).
UA_SAMPLE_BYTES = 64 * 1024


@dataclass
class SourceFilter:
    """One source's refusal, reordering and proxy sniffing (see the module docstring)."""

    guard: ProxyGuard
    bound: float = DEFAULT_BOUND
    access: bool = False
    reorder: Reorder = field(init=False)
    spread: UserAgentSpread = field(default_factory=UserAgentSpread)
    #: Wall time of the last chunk fed (for :meth:`idle`).
    last_fed: float = 0.0

    def __post_init__(self) -> None:
        self.reorder = Reorder(self.bound)

    def feed(self, events: list[Event], chunk: bytes, now: float) -> tuple[list[Event], list[str]]:
        """(events due for the detector, client addresses that just looked like proxies)."""
        self.last_fed = now
        suspects = self.spread.observe(chunk[:UA_SAMPLE_BYTES]) if self.access else []
        return self.reorder.push(self.guard.filter(events)), suspects

    def idle(self, now: float) -> list[Event]:
        """What a source quiet for ``bound`` seconds of wall time still holds, released."""
        if len(self.reorder) and now - self.last_fed >= self.bound:
            return self.reorder.flush()
        return []
