"""The fast path: targets of signals and decisions parsed into integer spans.

The hub checks every signal's target against protections, reserved ranges and
prefix limits; at tens of thousands of signals per second, :mod:`ipaddress`
objects cost more than everything else put together. :func:`parse_target`
parses the common canonical forms with ``inet_pton`` into a
:class:`Target` of plain integers and falls back to the strict
:func:`shieldwall.addresses.text.parse_network` for anything unusual, so both
paths accept and refuse exactly the same texts.
"""

from __future__ import annotations

# The pure half of the socket module: text <-> packed bytes, no socket is opened.
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import NamedTuple

from shieldwall.addresses.text import parse_network


class Target(NamedTuple):
    """An address or CIDR as integers: ``low``..``high`` inclusive."""

    text: str
    version: int
    low: int
    high: int
    prefixlen: int


def parse_target(text: str) -> Target:
    """Parse an address or CIDR (host bits zero) into its canonical text and span.

    Canonical text: a host route is the plain address (``45.13.7.9/32`` ->
    ``45.13.7.9``). Raises :class:`~shieldwall.errors.AddressError` on anything
    that is not an address or a strict CIDR.
    """
    base, slash, length = text.partition("/")
    if ":" in base:
        family, bits, version = AF_INET6, 128, 6
    else:
        family, bits, version = AF_INET, 32, 4
    try:
        packed = inet_pton(family, base)
    except (OSError, ValueError):
        return _slow(text)
    # Only the exact canonical spelling takes the fast path (no leading zeros,
    # no embedded IPv4 in IPv6, lower-case, RFC 5952 compression).
    if (version == 6 and "." in base) or inet_ntop(family, packed) != base:
        return _slow(text)
    if slash:
        if not length.isdigit() or len(length) > 3 or int(length) > bits:
            return _slow(text)
        prefixlen = int(length)
    else:
        prefixlen = bits
    value = int.from_bytes(packed, "big")
    host = (1 << (bits - prefixlen)) - 1
    if value & host:
        return _slow(text)
    canonical = base if prefixlen == bits else f"{base}/{prefixlen}"
    return Target(canonical, version, value, value | host, prefixlen)


def _slow(text: str) -> Target:
    network = parse_network(text)
    host_route = network.prefixlen == network.max_prefixlen
    canonical = str(network.network_address) if host_route else str(network)
    return Target(
        canonical,
        network.version,
        int(network.network_address),
        int(network.broadcast_address),
        network.prefixlen,
    )


_V4_MAPPED_PREFIX = b"\x00" * 10 + b"\xff\xff"


def pack_address(text: str) -> bytes | None:
    """Packed bytes of an address (4 for IPv4, 16 for IPv6); ``None`` if not one.

    IPv4-mapped IPv6 (``::ffff:192.0.2.7``, as dual-stack servers report IPv4
    clients) packs to the plain IPv4 bytes so that it matches IPv4 blocks.
    """
    try:
        return inet_pton(AF_INET, text)
    except (OSError, ValueError):  # ValueError: embedded NUL from hostile text
        pass
    try:
        packed = inet_pton(AF_INET6, text.split("%", 1)[0])
    except (OSError, ValueError):
        return None
    if packed[:12] == _V4_MAPPED_PREFIX:
        return packed[12:]
    return packed
