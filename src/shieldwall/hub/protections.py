"""Protected ranges: addresses no signal can get blocked, whoever sends it.

Pure. A :class:`Protections` is built from labelled networks (every member's own
ranges, the hub's address, the alliance allowlist, the operator's never-block
lists) and answers "does this target overlap anything protected?" with a bisect
over merged intervals, so 15,000 ranges cost microseconds per lookup.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from shieldwall.errors import AddressError
from shieldwall.events.address import IPNetwork, widen_network


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
            network = widen_network(fields[0])
        except AddressError as exc:
            raise AddressError(f"{label}, line {number}: {exc}") from None
        note = " ".join(fields[1:])
        entries.append(Protected(network, f"{label} ({note})" if note else label))
    return entries


#: Address space that is not public unicast: never an alliance-wide decision by default.
#: IPv4 from the IANA special-purpose registry; for IPv6 everything outside 2000::/3
#: (global unicast) plus the special blocks inside it.
RESERVED_RANGES = """
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
::/3 not global unicast (loopback, unspecified, IPv4-mapped, NAT64...)
4000::/2 not global unicast
8000::/1 not global unicast (ULA, link-local, multicast...)
2001::/23 IETF protocol assignments
2001:db8::/32 documentation
2002::/16 6to4
3fff::/20 documentation
"""


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
        return self.protecting_span(
            network.version, int(network.network_address), int(network.broadcast_address)
        )

    def protecting_span(self, version: int, low: int, high: int) -> str | None:
        """Like :meth:`protecting`, for a span of integers (the fast path)."""
        starts, ends, labels = self._index[version]
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

    @classmethod
    def reserved(cls) -> Protections:
        """The reserved ranges (see :data:`RESERVED_RANGES`)."""
        return cls(parse_never_block_list(RESERVED_RANGES, "reserved"))

    def with_entries(self, extra: Iterable[Protected]) -> Protections:
        """A new set with ``extra`` added (used when members join or leave)."""
        return Protections((*self.entries, *extra))
