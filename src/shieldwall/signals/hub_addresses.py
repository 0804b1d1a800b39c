"""The hub's addresses as a member sees them, and which one to try next. Pure.

A hub that runs as several replicas (or as one name behind a load balancer) is
reached at a list of ``host:port`` addresses, carried by the join token and the
member state. :func:`check_addresses` validates such a list (hostile input: it
comes from a token pasted by a person). :class:`Rotation` chooses the address
for the next attempt: it stays on an address while it works (sticky), moves to
the next one the moment an attempt fails, and backs each failing address off
exponentially so a dead replica is not hammered; time is an input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from shieldwall.addresses import parse_address
from shieldwall.errors import AddressError, HubError

#: Addresses one token or member state may list.
MAX_ADDRESSES = 16
#: A DNS host name: labels of letters, digits and inner hyphens (no underscore, no IDN).
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
FINGERPRINT = re.compile(r"[0-9a-f]{64}")
T = TypeVar("T")


def check_address(text: str) -> str:
    """``text`` as canonical ``host:port`` (IPv6 in brackets); :class:`HubError` otherwise.

    The port is required and host names are checked for shape only (never
    resolved here): the member connects to them later with the pinned certificate.
    """
    if not isinstance(text, str) or not text or len(text) > 300 or text != text.strip():
        raise HubError(f"hub address {str(text)[:80]!r} is not host:port")
    bracketed = text.startswith("[")
    if bracketed:
        host, bracket, rest = text[1:].partition("]")
        port = rest[1:] if bracket and rest.startswith(":") else ""
    else:
        host, _, port = text.rpartition(":")
    if not port.isascii() or not port.isdigit() or port[0] == "0" or not int(port) < 65536:
        raise HubError(f"hub address {text[:80]!r} needs a port (host:port, 1-65535)")
    if bracketed != (":" in host):
        raise HubError(f"hub address {text[:80]!r} is not host:port (an IPv6 address goes"
                       " in brackets, [2001:db8::1]:8443, and nothing else does)")
    return f"{_host(host, text)}:{int(port)}"


def _host(host: str, text: str) -> str:
    try:
        ip = parse_address(host)
    except AddressError:
        ip = None
    if ip is not None:
        if "%" in host:
            raise HubError(f"hub address {text[:80]!r}: a zone index is not supported")
        return f"[{ip}]" if ip.version == 6 else str(ip)
    labels = host.rstrip(".").split(".") if host else []
    if (not labels or len(host) > 253 or not all(_LABEL.fullmatch(x) for x in labels)
            or labels[-1].isdigit()):
        raise HubError(f"hub address {text[:80]!r}: {host[:80]!r} is neither an IP address"
                       " nor a host name")
    return host.rstrip(".").lower()


def check_addresses(texts: Iterable[str]) -> tuple[str, ...]:
    """The canonical addresses in order, duplicates dropped; at least one, at most 16."""
    seen: list[str] = []
    for text in texts:
        address = check_address(text)
        if address not in seen:
            seen.append(address)
    if not seen:
        raise HubError("no hub address given")
    if len(seen) > MAX_ADDRESSES:
        raise HubError(f"at most {MAX_ADDRESSES} hub addresses (got {len(seen)})")
    return tuple(seen)


def check_fingerprints(texts: Iterable[str]) -> tuple[str, ...]:
    """Certificate fingerprints (hex SHA-256, lower case) in order, duplicates dropped."""
    seen: list[str] = []
    for text in texts:
        if not isinstance(text, str) or not FINGERPRINT.fullmatch(text):
            raise HubError(f"{str(text)[:80]!r} is not a certificate fingerprint (64 hex digits)")
        if text not in seen:
            seen.append(text)
    if not seen:
        raise HubError("no certificate fingerprint given")
    if len(seen) > MAX_ADDRESSES:
        raise HubError(f"at most {MAX_ADDRESSES} pinned certificates (got {len(seen)})")
    return tuple(seen)


@dataclass(frozen=True)
class Rotation:
    """Which address to try next; every method returns a new value.

    ``failures[i]`` counts address ``i``'s consecutive failures and ``retry_at[i]``
    is the earliest time it may be tried again. :meth:`pick` prefers
    :attr:`current`; :meth:`failed` moves :attr:`current` on to the next address.
    """

    addresses: tuple[str, ...]
    current: int = 0
    failures: tuple[int, ...] = ()
    retry_at: tuple[float, ...] = ()
    backoff: tuple[float, float] = (0.2, 30.0)

    @classmethod
    def over(cls, addresses: tuple[str, ...], backoff: tuple[float, float] = (0.2, 30.0)
             ) -> Rotation:
        """A rotation that starts at the first address, none of them failed."""
        if not addresses:
            raise HubError("no hub address to connect to")
        n = len(addresses)
        return cls(addresses, 0, (0,) * n, (0.0,) * n, backoff)

    def pick(self, now: float) -> tuple[str, float]:
        """The address to try and how many seconds to wait first (0: at once).

        The current address if it may be tried now, else the next one (in list
        order) that may, else the one whose back-off ends first.
        """
        n = len(self.addresses)
        for step in range(n):
            index = (self.current + step) % n
            if self.retry_at[index] <= now:
                return self.addresses[index], 0.0
        index = min(range(n), key=lambda i: (self.retry_at[i], (i - self.current) % n))
        return self.addresses[index], self.retry_at[index] - now

    def succeeded(self, address: str) -> Rotation:
        """``address`` works: stay on it and forget its failures."""
        index = self.addresses.index(address)
        if index == self.current and not self.failures[index] and not self.retry_at[index]:
            return self  # the common case, once per decision received: nothing to change
        return replace(
            self, current=index,
            failures=_put(self.failures, index, 0), retry_at=_put(self.retry_at, index, 0.0),
        )

    def failed(self, address: str, now: float) -> Rotation:
        """``address`` failed at ``now``: back it off and move on to the next address."""
        index = self.addresses.index(address)
        count = self.failures[index] + 1
        wait = min(self.backoff[0] * 2 ** min(count - 1, 30), self.backoff[1])
        return replace(
            self, current=(index + 1) % len(self.addresses),
            failures=_put(self.failures, index, count),
            retry_at=_put(self.retry_at, index, now + wait),
        )


def _put(values: tuple[T, ...], index: int, value: T) -> tuple[T, ...]:
    return (*values[:index], value, *values[index + 1 :])
