"""One active block: a target (address or CIDR) and when it expires."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

from shieldwall.events.address import IPNetwork, parse_network

#: ``until`` of a block that never expires (kept until lifted).
FOREVER = math.inf


@dataclass(frozen=True, slots=True)
class Block:
    """A target blocked until ``until`` (Unix seconds; :data:`FOREVER` for no expiry).

    ``target`` is canonical (see :func:`canonical_target`): a plain address for a
    single host, ``network/len`` for a wider range. Everything downstream (sets,
    exports, lookups) trusts that form, so build blocks through
    :func:`canonical_target` at the boundary.
    """

    target: str
    until: float = FOREVER
    origin: str = ""
    scenario: str = ""
    reason: str = ""
    created: float = 0.0

    def active(self, now: float) -> bool:
        """True while the block has not expired at ``now``."""
        return self.until > now


def network_target(net: IPNetwork) -> str:
    """Canonical text of a network: host networks (/32, /128) lose their length."""
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def canonical_target(text: str) -> str:
    """Canonical form of an address or CIDR; raises ``AddressError`` when invalid.

    ``192.0.2.7/32`` becomes ``192.0.2.7``, ``::ffff:192.0.2.7`` becomes
    ``192.0.2.7``, ``2001:DB8::/32`` becomes ``2001:db8::/32``.
    """
    return network_target(parse_network(text))


def is_range(target: str) -> bool:
    """True when a canonical target names more than one address."""
    return "/" in target


def is_ipv6(target: str) -> bool:
    """True when a canonical target is IPv6."""
    return ":" in target


def target_network(target: str) -> IPNetwork:
    """The network a canonical target covers (a /32 or /128 for a single address)."""
    return ipaddress.ip_network(target)
