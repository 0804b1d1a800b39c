"""Reverse proxies: never blame a declared proxy or this host, and notice undeclared ones.

Behind a reverse proxy (a CDN, a load balancer, nginx in front of an app server)
the address a log line names is the proxy's, for every client it forwards. A
detection then blames the proxy, and blocking it cuts off every client at once;
blaming the host's own address would lock it out of itself. A member therefore
declares its proxies, and :class:`ProxyGuard` refuses every event whose blamed
key touches a declared proxy or one of the host's own addresses (before any
window counts it), saying how many it refused and why. The hub applies the same
rule to what members report (its own check, with each member's declarations).

An undeclared proxy shows itself in access logs as one client address with an
implausible number of distinct user agents (a real client has one or a few;
a NAT of a small office a few dozen). :class:`UserAgentSpread` counts distinct
user agents per client address on access-log lines and names, once each, the
addresses that pass :data:`PLAUSIBLE_AGENTS`. Bounded: at most
:data:`MAX_ADDRESSES` addresses are followed, each up to the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shieldwall.addresses import Ranges
from shieldwall.events.event import Event

#: Distinct user agents from one address beyond which it is probably a proxy.
PLAUSIBLE_AGENTS = 50
#: Addresses followed at once by UserAgentSpread before it starts over.
MAX_ADDRESSES = 20_000

PROXY = "declared proxy"
THIS_HOST = "this host's own address"


@dataclass
class ProxyGuard:
    """Drops events that blame a declared proxy or this host (see the module docstring)."""

    proxies: Ranges = field(default_factory=Ranges)
    own: Ranges = field(default_factory=Ranges)
    #: Refused events per reason (PROXY, THIS_HOST).
    refused: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(len(self.proxies) or len(self.own))

    def refusal(self, key: str) -> str | None:
        """Why a detection blaming ``key`` must be refused, or ``None`` when it may stand."""
        if len(self.own) and self.own.covers(key):
            return THIS_HOST
        if len(self.proxies) and self.proxies.covers(key):
            return PROXY
        return None

    def refusal_span(self, version: int, low: int, high: int) -> str | None:
        """:meth:`refusal` for a target already parsed into integers (the hub's hot path)."""
        if len(self.own) and self.own.touches(version, low, high):
            return THIS_HOST
        if len(self.proxies) and self.proxies.touches(version, low, high):
            return PROXY
        return None

    def filter(self, events: list[Event]) -> list[Event]:
        """``events`` without those blaming a declared proxy or this host."""
        if not self or not events:
            return events
        kept = []
        for event in events:
            why = self.refusal(event.key)
            if why is None:
                kept.append(event)
            else:
                self.refused[why] = self.refused.get(why, 0) + 1
        return kept

    def describe(self) -> str:
        """``12 events refused: 10 blamed a declared proxy, 2 this host's own address``."""
        total = sum(self.refused.values())
        parts = [f"{n} blamed a {why}" if why == PROXY else f"{n} blamed {why}"
                 for why, n in sorted(self.refused.items())]
        return f"{total} events refused: {', '.join(parts)}"


# An access-log line up to its user agent: client, ident, user, [time], "request",
# status, size, "referer", "user agent" (Apache's `\"` escapes honoured); an
# optional vhost first, an optional quote around the line.
# A quoted field is read as runs of plain bytes, each backslash taking the next byte
# with it (possessive: linear, like the http pack).
_FIELD = rb'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"'
_ACCESS_UA = re.compile(
    rb'^"?(?:\S{1,260} )??([0-9A-Fa-f:.]{2,45}) \S{1,256} \S{1,256} \[[^\]\n]{1,40}\] '
    + _FIELD + rb' \d{3} \S{1,20} ' + _FIELD + rb' ("[^"\\\n]*+(?:\\.[^"\\\n]*+)*+")',
    re.MULTILINE,
)


@dataclass
class UserAgentSpread:
    """Counts distinct user agents per client address of access-log lines."""

    limit: int = PLAUSIBLE_AGENTS
    max_addresses: int = MAX_ADDRESSES
    _agents: dict[bytes, set[int]] = field(default_factory=dict)
    #: Addresses already reported (never reported twice).
    reported: set[bytes] = field(default_factory=set)

    def observe(self, data: bytes) -> list[str]:
        """The addresses of ``data`` (complete access-log lines) that just passed the limit."""
        found: list[str] = []
        agents = self._agents
        for m in _ACCESS_UA.finditer(data):
            address = m.group(1)
            if address in self.reported:
                continue
            seen = agents.get(address)
            if seen is None:
                if len(agents) >= self.max_addresses:
                    agents.clear()  # a bounded sample: a real proxy soon shows again
                seen = agents[address] = set()
            seen.add(hash(m.group(2)))
            if len(seen) >= self.limit:
                del agents[address]
                self.reported.add(address)
                found.append(address.decode("ascii", "replace"))
        return found

    @staticmethod
    def warning(address: str, limit: int = PLAUSIBLE_AGENTS) -> str:
        """What to tell the operator about ``address``."""
        return (
            f"{address} sent {limit} or more distinct user agents: probably a reverse proxy or "
            f"a large NAT. If it is your proxy, declare it (--proxy), or detections will blame "
            f"it for its clients"
        )

