"""The member's never-block list: addresses and ranges it protects.

A decision, ban or imported entry that touches a protected network is refused
(logged and skipped), whatever the alliance says: the member knows its own
monitors, crawlers and upstream proxies better than the hub does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from shieldwall.errors import AddressError, ConfigError
from shieldwall.events.address import IntervalIndex, IPNetwork, widen_network


@dataclass(frozen=True, slots=True)
class Allowlist:
    """Protected networks with a label each (usually the file they came from)."""

    entries: tuple[tuple[IPNetwork, str], ...] = ()
    _v4: IntervalIndex = field(default_factory=IntervalIndex, repr=False)
    _v6: IntervalIndex = field(default_factory=IntervalIndex, repr=False)

    @classmethod
    def of(cls, entries: Iterable[tuple[IPNetwork, str]]) -> Allowlist:
        """Index ``(network, label)`` pairs."""
        items = tuple(entries)
        v4 = [_bounds(n) for n, _ in items if n.version == 4]
        v6 = [_bounds(n) for n, _ in items if n.version == 6]
        return cls(items, IntervalIndex.build(v4), IntervalIndex.build(v6))

    def protects(self, net: IPNetwork) -> str | None:
        """Label of a protected network overlapping ``net``; ``None`` when free.

        Overlap, not containment, in both directions: blocking 198.51.100.0/24
        would also block the one protected host 198.51.100.7 inside it.
        """
        start, end = _bounds(net)
        if not self.touches(net.version, start, end):
            return None
        for protected, label in self.entries:
            if protected.version == net.version and protected.overlaps(net):
                return label
        return "allowlist"  # unreachable unless entries and index disagree

    def touches(self, version: int, start: int, end: int) -> bool:
        """Fast yes/no: does ``[start, end]`` (as integers) overlap a protected network?"""
        index = self._v4 if version == 4 else self._v6
        return index.overlaps(start, end)

    def __len__(self) -> int:
        return len(self.entries)

    def __add__(self, other: Allowlist) -> Allowlist:
        return Allowlist.of(self.entries + other.entries)


def _bounds(net: IPNetwork) -> tuple[int, int]:
    start = int(net.network_address)
    return start, start + net.num_addresses - 1


def parse_allowlist(text: str, label: str) -> Allowlist:
    """Parse a never-block list: one address or CIDR per line, ``#`` comments.

    Extra columns after the address (``8.8.8.8<TAB>google``) are ignored. Host
    bits in a CIDR are tolerated here (``192.0.2.7/24`` protects the whole /24):
    erring towards protection is the safe side. Raises ``ConfigError`` naming
    the line for anything that is not an address.
    """
    entries: list[tuple[IPNetwork, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        token = line.split("#", 1)[0].strip().split(None, 1)
        if not token:
            continue
        word = token[0]
        try:
            net = widen_network(word)
        except AddressError:
            raise ConfigError(f"{label}:{number}: not an address or CIDR: {word!r}") from None
        entries.append((net, label))
    return Allowlist.of(entries)


def load_allowlists(paths: Iterable[Path]) -> Allowlist:
    """Read never-block files; each entry is labelled with its file's name."""
    merged: list[tuple[IPNetwork, str]] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read never-block list {path}: {exc.strerror}") from None
        merged.extend(parse_allowlist(text, path.name).entries)
    return Allowlist.of(merged)
