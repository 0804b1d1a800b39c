"""Protected ranges: addresses no signal can get blocked, whoever sends it.

Pure. A :class:`Protections` is built from labelled networks (every member's own
ranges, the hub's address, the alliance allowlist, the operator's never-block
lists) and answers "does this target overlap anything protected?" with a bisect
over merged intervals, so 15,000 ranges cost microseconds per lookup.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from shieldwall.errors import AddressError
from shieldwall.events.address import IPNetwork, parse_address


@dataclass(frozen=True, slots=True)
class Protected:
    """One protected network and why it is protected (shown by ``explain``)."""

    network: IPNetwork
    label: str


def parse_never_block_list(text: str, label: str) -> list[Protected]:
    """Parse a never-block list: one address or CIDR per line, ``#`` comments.

    Anything after the first field is a free-form note (``8.8.8.8<TAB>google``).
    Host bits in a range are tolerated (the range is widened), since erring
    towards protecting more is the safe direction for an allowlist.
    """
    entries: list[Protected] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            network = _loose_network(fields[0])
        except AddressError as exc:
            raise AddressError(f"{label}, line {number}: {exc}") from None
        note = " ".join(fields[1:])
        entries.append(Protected(network, f"{label} ({note})" if note else label))
    return entries


def _loose_network(text: str) -> IPNetwork:
    base, slash, length = text.partition("/")
    addr = parse_address(base)
    try:
        return ipaddress.ip_network(f"{addr}/{length}" if slash else str(addr), strict=False)
    except ValueError as exc:
        raise AddressError(f"not a valid CIDR: {text!r} ({exc})") from None


class Protections:
    """A set of protected networks with fast overlap lookups."""

    def __init__(self, entries: Iterable[Protected]) -> None:
        self.entries: tuple[Protected, ...] = tuple(entries)
        self._index: dict[int, tuple[list[int], list[int], list[str]]] = {}
        for version in (4, 6):
            spans = sorted(
                (int(p.network.network_address), int(p.network.broadcast_address), p.label)
                for p in self.entries
                if p.network.version == version
            )
            starts: list[int] = []
            ends: list[int] = []
            labels: list[str] = []
            for start, end, label in spans:
                if ends and start <= ends[-1] + 1:
                    ends[-1] = max(ends[-1], end)
                    continue
                starts.append(start)
                ends.append(end)
                labels.append(label)
            self._index[version] = (starts, ends, labels)

    def __len__(self) -> int:
        return len(self.entries)

    def protecting(self, network: IPNetwork) -> str | None:
        """The label of a protected range overlapping ``network``, or ``None``."""
        starts, ends, labels = self._index[network.version]
        low = int(network.network_address)
        high = int(network.broadcast_address)
        i = bisect_right(starts, high) - 1
        if i >= 0 and ends[i] >= low:
            return labels[i]
        return None

    def all_protecting(self, network: IPNetwork) -> list[str]:
        """Every label whose range overlaps ``network`` (slow; for ``explain``)."""
        return [
            p.label
            for p in self.entries
            if p.network.version == network.version and p.network.overlaps(network)
        ]

    def with_entries(self, extra: Iterable[Protected]) -> Protections:
        """A new set with ``extra`` added (used when members join or leave)."""
        return Protections((*self.entries, *extra))
