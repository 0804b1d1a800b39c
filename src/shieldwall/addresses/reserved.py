"""The one table of address space that is not public unicast.

Used wherever an address is screened: the hub's policy (never an alliance-wide
decision unless ``allow_reserved``), import screening (never blocked from a
feed), and the CLI's warning when an operator bans such an address. IPv4 is the
IANA special-purpose registry; for IPv6, everything outside 2000::/3 (global
unicast) plus the special blocks inside it. NAT64 (``64:ff9b::/96``) is here:
such an address stands for an IPv4 one, which is what to block.
"""

from __future__ import annotations

import ipaddress

from shieldwall.addresses.ranges import Labelled, Ranges
from shieldwall.addresses.text import IPAddress, IPNetwork

#: One network a line, then its label.
RESERVED_TABLE = """
0.0.0.0/8 this network
10.0.0.0/8 private
100.64.0.0/10 shared address space (CGNAT)
127.0.0.0/8 loopback
169.254.0.0/16 link-local
172.16.0.0/12 private
192.0.0.0/24 IETF protocol assignments
192.0.2.0/24 documentation
192.88.99.0/24 6to4 relay anycast
192.168.0.0/16 private
198.18.0.0/15 benchmarking
198.51.100.0/24 documentation
203.0.113.0/24 documentation
224.0.0.0/4 multicast
240.0.0.0/4 reserved and broadcast
::/3 not global unicast (unspecified, loopback, IPv4-mapped, discard...)
64:ff9b::/96 NAT64 (block the embedded IPv4 address instead)
64:ff9b:1::/48 local-use NAT64
4000::/2 not global unicast
5f00::/16 SRv6 segment identifiers
8000::/1 not global unicast
fc00::/7 unique local
fe80::/10 link-local
ff00::/8 multicast
2001::/23 IETF protocol assignments
2001:db8::/32 documentation
2002::/16 6to4
3fff::/20 documentation
"""


def _table() -> Ranges:
    entries = []
    for line in RESERVED_TABLE.strip().splitlines():
        network, _, label = line.partition(" ")
        entries.append(Labelled(ipaddress.ip_network(network), f"reserved: {label}"))
    return Ranges(entries)


#: Every reserved range, labelled with what it is.
RESERVED = _table()


def is_reserved(network: IPNetwork) -> bool:
    """True when any part of ``network`` is not a public, unicast address."""
    return RESERVED.protecting(network) is not None


def is_public(addr: IPAddress) -> bool:
    """True for an address routable on the public internet (outside :data:`RESERVED`)."""
    return not is_reserved(ipaddress.ip_network(addr))


#: The only space a drill may name (RFC 5737 and RFC 3849): documentation ranges,
#: never routed, so a drill's real firewall element harms no one.
DRILL_TABLE = """
192.0.2.0/24 TEST-NET-1 (RFC 5737)
198.51.100.0/24 TEST-NET-2 (RFC 5737)
203.0.113.0/24 TEST-NET-3 (RFC 5737)
2001:db8::/32 IPv6 documentation (RFC 3849)
"""

#: :data:`DRILL_TABLE` as a labelled set.
DRILL_RANGES = Ranges([
    Labelled(ipaddress.ip_network(network), f"drill: {label}")
    for network, _, label in (line.partition(" ") for line in DRILL_TABLE.strip().splitlines())
])


def is_drill_target(network: IPNetwork) -> bool:
    """True when all of ``network`` lies inside one documentation range a drill may use."""
    return any(_inside(network, entry.network) for entry in DRILL_RANGES.entries)


def _inside(inner: IPNetwork, outer: IPNetwork) -> bool:
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False
