"""Addresses and ranges that are never detected."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path

from shieldwall.errors import AddressError, ConfigError
from shieldwall.events.address import IntervalIndex, IPNetwork, parse_network


class Allowlist:
    """A set of networks with a fast membership test for detection keys.

    Keys are addresses (``192.0.2.1``) or IPv6 prefixes (``2001:db8::/64``); a
    prefix is allowed when it overlaps an allowed network, so that allowing one
    IPv6 host also protects its /64 from detection.
    """

    def __init__(self, networks: Iterable[IPNetwork] = ()) -> None:
        networks = list(networks)
        self._index = {
            version: IntervalIndex.build(
                (int(n.network_address), int(n.broadcast_address))
                for n in networks
                if n.version == version
            )
            for version in (4, 6)
        }
        self._cache: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self._index[4]) + len(self._index[6])

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
        return self._index[net.version].overlaps(
            int(net.network_address), int(net.broadcast_address)
        )
