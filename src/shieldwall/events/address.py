"""Addresses as read from logs: strict parsing, normalisation and aggregation.

Parsing never resolves names: a host name in a log is not an address and is
refused, because resolving attacker-supplied names would let a log line choose
whom we block (and leak our lookups to the attacker's DNS server).
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from shieldwall.errors import AddressError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_IPV6_PREFIX = 64


def parse_address(text: str) -> IPAddress:
    """Parse one IPv4 or IPv6 address; IPv4-mapped IPv6 becomes plain IPv4.

    Brackets (``[2001:db8::1]``) and a zone (``fe80::1%eth0``) are accepted and
    dropped. Anything else, host names included, raises :class:`AddressError`.
    """
    raw = text.strip()
    if raw.startswith("[") and raw.endswith("]"):
        raw = raw[1:-1]
    raw = raw.split("%", 1)[0]
    try:
        addr = ipaddress.ip_address(raw)
    except ValueError:
        raise AddressError(f"not an IP address: {text!r}") from None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def parse_network(text: str) -> IPNetwork:
    """Parse an address or CIDR into a network; host bits must be zero.

    ``192.0.2.7`` becomes ``192.0.2.7/32``; ``192.0.2.7/24`` is refused, since a
    range with host bits set is almost always a typo for something else.
    """
    raw = text.strip()
    if "/" not in raw:
        addr = parse_address(raw)
        return ipaddress.ip_network(addr)
    base, _, length = raw.partition("/")
    addr = parse_address(base)
    try:
        return ipaddress.ip_network(f"{addr}/{length}", strict=True)
    except ValueError as exc:
        raise AddressError(f"not a valid CIDR: {text!r} ({exc})") from None


def widen_network(text: str) -> IPNetwork:
    """An address or CIDR for a never-block list: host bits are tolerated.

    ``192.0.2.7/24`` protects the whole /24: in a list of what must never be
    blocked, erring towards protecting more is the safe direction.
    """
    base, slash, length = text.partition("/")
    addr = parse_address(base)
    try:
        return ipaddress.ip_network(f"{addr}/{length}" if slash else addr, strict=False)
    except ValueError as exc:
        raise AddressError(f"not a valid CIDR: {text!r} ({exc})") from None


def blame_key(addr: IPAddress, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """The key an address is counted under: itself for IPv4, its prefix for IPv6.

    One IPv6 host usually owns a whole /64, so counting single IPv6 addresses
    would let an attacker rotate through 2**64 of them for free.
    """
    if isinstance(addr, ipaddress.IPv4Address) or ipv6_prefix >= 128:
        return str(addr)
    return str(ipaddress.IPv6Network((addr, ipv6_prefix), strict=False))


@lru_cache(maxsize=65536)
def blame_key_from_text(text: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str | None:
    """Parse and key an address read from a log; ``None`` when it is not an address."""
    try:
        return blame_key(parse_address(text), ipv6_prefix)
    except AddressError:
        return None


def is_global(addr: IPAddress) -> bool:
    """True for addresses routable on the public internet (not private, reserved...)."""
    return addr.is_global and not addr.is_multicast


@dataclass(frozen=True, slots=True)
class IntervalIndex:
    """Disjoint, sorted ``[start, end]`` integer intervals; answers overlap queries."""

    starts: tuple[int, ...] = ()
    ends: tuple[int, ...] = ()

    @classmethod
    def build(cls, intervals: Iterable[tuple[int, int]]) -> IntervalIndex:
        """Merge overlapping or adjacent intervals and index them."""
        starts: list[int] = []
        ends: list[int] = []
        for start, end in sorted(intervals):
            if ends and start <= ends[-1] + 1:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        return cls(tuple(starts), tuple(ends))

    def overlaps(self, start: int, end: int) -> bool:
        """True when ``[start, end]`` shares at least one value with an interval."""
        i = bisect_right(self.starts, end) - 1
        return i >= 0 and self.ends[i] >= start

    def __len__(self) -> int:
        return len(self.starts)
