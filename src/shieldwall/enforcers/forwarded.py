"""Which address a request really comes from, behind trusted reverse proxies.

Pure. ``X-Forwarded-For`` is written by whoever sends the request, so it is
believed only as far as trusted proxies vouch for it: starting from the peer
that opened the connection, walk the header right to left while the current
hop is a trusted proxy; the first untrusted hop is the client. An attacker can
prepend anything they like to the header, but cannot change what our own proxy
appended to its right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shieldwall.addresses import IPAddress, IPNetwork, parse_address, parse_network
from shieldwall.errors import AddressError


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """Networks whose ``X-Forwarded-For`` entries are believed."""

    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, items: Iterable[str]) -> TrustedProxies:
        """From addresses or CIDRs (``AddressError`` on anything else)."""
        return cls(tuple(parse_network(item) for item in items))

    def trusts(self, addr: IPAddress) -> bool:
        """True when ``addr`` is one of our proxies."""
        return any(addr.version == net.version and addr in net for net in self.networks)


def _hop(text: str) -> IPAddress | None:
    """An address from one header hop: ``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:80``."""
    raw = text.strip().strip('"')
    if raw.startswith("[") and "]" in raw:
        raw = raw[1 : raw.index("]")]
    elif raw.count(":") == 1:
        raw = raw.split(":", 1)[0]
    try:
        return parse_address(raw)
    except AddressError:
        return None


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: TrustedProxies) -> str | None:
    """The client's address as text, or ``None`` when it cannot be known.

    ``forwarded_for`` holds every ``X-Forwarded-For`` header value in the order
    received (several headers are one list, as RFC 9110 says). Without trusted
    proxies, or when the peer is not one of them, the header is ignored. A hop
    that is not an address where an address must be yields ``None``: the
    caller then treats the request as coming from an unknown client.
    """
    if peer is None:
        return None
    current = _hop(peer)
    if current is None:
        return None
    if not trusted.networks or not trusted.trusts(current):
        return str(current)
    hops = [h for value in forwarded_for for h in value.split(",")]
    for text in reversed(hops):
        if not text.strip():
            continue
        hop = _hop(text)
        if hop is None:
            return None
        current = hop
        if not trusted.trusts(current):
            return str(current)
    # Every hop was one of our proxies: the left-most one is as far as we can see.
    return str(current)
