"""Addresses and ranges that are never detected."""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from shieldwall.errors import AddressError, ConfigError
from shieldwall.events.address import IPNetwork, parse_network


class Allowlist:
    """A set of networks with a fast membership test for detection keys.

    Keys are addresses (``192.0.2.1``) or IPv6 prefixes (``2001:db8::/64``); a
    prefix is allowed when it overlaps an allowed network, so that allowing one
    IPv6 host also protects its /64 from detection.
    """

    def __init__(self, networks: Iterable[IPNetwork] = ()) -> None:
        self._v4: list[tuple[int, int]] = []
        self._v6: list[tuple[int, int]] = []
        for net in networks:
            target = self._v4 if net.version == 4 else self._v6
            target.append((int(net.network_address), int(net.broadcast_address)))
        self._v4 = _merge(self._v4)
        self._v6 = _merge(self._v6)
        self._v4_starts = [s for s, _ in self._v4]
        self._v6_starts = [s for s, _ in self._v6]
        self._cache: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self._v4) + len(self._v6)

    @classmethod
    def from_strings(cls, entries: Iterable[str], origin: str = "allowlist") -> Allowlist:
        """Parse entries (address or CIDR; ``#`` comments and blank lines ignored)."""
        networks: list[IPNetwork] = []
        for number, raw in enumerate(entries, start=1):
            text = raw.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                networks.append(parse_network(text))
            except AddressError as exc:
                raise ConfigError(f"{origin}:{number}: {exc}") from None
        return cls(networks)

    @classmethod
    def from_file(cls, path: str | Path) -> Allowlist:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read allowlist {path}: {exc.strerror}") from None
        return cls.from_strings(lines, str(path))

    def allows(self, key: str) -> bool:
        """True when the address or prefix ``key`` overlaps an allowed network."""
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            cached = self._cache[key] = self._lookup(key)
        return cached

    def _lookup(self, key: str) -> bool:
        try:
            net = ipaddress.ip_network(key, strict=False)
        except ValueError:
            return False
        ranges, starts = (self._v4, self._v4_starts) if net.version == 4 else (self._v6, self._v6_starts)
        if not ranges:
            return False
        low, high = int(net.network_address), int(net.broadcast_address)
        index = bisect.bisect_right(starts, high) - 1
        return index >= 0 and ranges[index][1] >= low


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
