"""Addresses as text: strict parsing, canonical form, and the keys attackers are counted under.

Parsing never resolves names: a host name in a log is not an address and is
refused, because resolving attacker-supplied names would let a log line choose
whom we block (and leak our lookups to the attacker's DNS server).
"""

from __future__ import annotations

import ipaddress
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


def target_network(target: str) -> IPNetwork:
    """The network a canonical target covers (a /32 or /128 for a single address)."""
    return ipaddress.ip_network(target)


def is_range(target: str) -> bool:
    """True when a canonical target names more than one address."""
    return "/" in target


def is_ipv6(target: str) -> bool:
    """True when a canonical target is IPv6."""
    return ":" in target


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
