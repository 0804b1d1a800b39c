"""The one labelled interval set: networks, each with why it is there, and fast overlap lookups.

Every place that asks "does this target touch anything listed?" uses
:class:`Ranges`: detection exemptions (``detection.allow``), a member's
never-block lists (``enforce.allow``, ``--never-block``), the hub's protections
(members' ranges, the hub, the alliance allowlist) and import screening
(:data:`~shieldwall.addresses.reserved.RESERVED` plus the member's lists). A
lookup is a bisect over merged integer intervals, so 15,000 ranges cost
microseconds; the labels say which list protected a target.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from shieldwall.addresses.text import IPNetwork, parse_network, widen_network
from shieldwall.errors import AddressError, ConfigError

#: Detection keys remembered by :meth:`Ranges.covers` before the memo starts over.
KEY_MEMO = 100_000


class Labelled(NamedTuple):
    """One listed network and why it is listed (a file name, ``reserved``, a member...)."""

    network: IPNetwork
    label: str


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

    def find(self, start: int, end: int) -> int:
        """Index of the interval sharing a value with ``[start, end]``, or -1."""
        i = bisect_right(self.starts, end) - 1
        return i if i >= 0 and self.ends[i] >= start else -1

    def overlaps(self, start: int, end: int) -> bool:
        """True when ``[start, end]`` shares at least one value with an interval."""
        return self.find(start, end) >= 0

    def __len__(self) -> int:
        return len(self.starts)


def _bounds(net: IPNetwork) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


class Ranges:
    """Labelled networks; overlap, not containment, in both directions.

    Blocking 198.51.100.0/24 would also block the one listed host 198.51.100.7
    inside it, so a range touching a listed network is "covered" too.
    """

    def __init__(self, entries: Iterable[Labelled] = ()) -> None:
        self.entries: tuple[Labelled, ...] = tuple(entries)
        self._index: dict[int, IntervalIndex] = {}
        self._labels: dict[int, list[str]] = {}
        for version in (4, 6):
            spans = sorted(
                (*_bounds(e.network), e.label) for e in self.entries if e.network.version == version
            )
            self._index[version] = IntervalIndex.build((low, high) for low, high, _ in spans)
            # The label of each merged interval: the first listed network it starts with.
            labels: list[str] = []
            index = self._index[version]
            for low, _, label in spans:
                if len(labels) < len(index) and index.starts[len(labels)] == low:
                    labels.append(label)
            self._labels[version] = labels
        self._memo: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __add__(self, other: Ranges) -> Ranges:
        return Ranges((*self.entries, *other.entries))

    def with_entries(self, extra: Iterable[Labelled]) -> Ranges:
        """A new set with ``extra`` added (members joining, this host's own addresses...)."""
        return Ranges((*self.entries, *extra))

    def protecting(self, network: IPNetwork) -> str | None:
        """The label of a listed range overlapping ``network``, or ``None``."""
        return self.protecting_span(network.version, *_bounds(network))

    def protecting_span(self, version: int, low: int, high: int) -> str | None:
        """Like :meth:`protecting`, for a span of integers (the fast path)."""
        i = self._index[version].find(low, high)
        return self._labels[version][i] if i >= 0 else None

    def touches(self, version: int, low: int, high: int) -> bool:
        """Fast yes/no: does ``[low, high]`` overlap a listed network?"""
        return self._index[version].overlaps(low, high)

    def all_protecting(self, network: IPNetwork) -> list[str]:
        """Every label whose range overlaps ``network`` (slow; for ``explain``)."""
        return [
            e.label
            for e in self.entries
            if e.network.version == network.version and e.network.overlaps(network)
        ]

    def covers(self, key: str) -> bool:
        """True when the address or prefix ``key`` (a detection key) overlaps a listed network.

        Memoised: the detector asks about the same few addresses again and again.
        """
        known = self._memo.get(key)
        if known is None:
            if len(self._memo) >= KEY_MEMO:
                self._memo.clear()
            try:
                net = ipaddress.ip_network(key, strict=False)
            except ValueError:
                known = False
            else:
                known = self.touches(net.version, *_bounds(net))
            self._memo[key] = known
        return known


def parse_ranges(lines: str | Iterable[str], label: str, *, widen: bool = True) -> Ranges:
    """Parse a list: one address or CIDR per line, ``#`` comments, blank lines ignored.

    Words after the address are a note shown with the label (``8.8.8.8 google``
    is listed as ``label (google)``). With ``widen`` (never-block lists), host
    bits are tolerated (``192.0.2.7/24`` lists the whole /24: erring towards
    protecting more is the safe direction); without, such a range is refused.
    Errors name the list and the line: ``label:3: not an IP address: 'x'``.
    """
    entries: list[Labelled] = []
    parse = widen_network if widen else parse_network
    for number, line in enumerate(lines.splitlines() if isinstance(lines, str) else lines, start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        try:
            network = parse(words[0])
        except AddressError as exc:
            raise ConfigError(f"{label}:{number}: {exc}") from None
        note = " ".join(words[1:])
        entries.append(Labelled(network, f"{label} ({note})" if note else label))
    return Ranges(entries)


def load_ranges(paths: Iterable[Path]) -> Ranges:
    """Read never-block files (a folder: its ``*.txt``); entries are labelled with the file name."""
    entries: list[Labelled] = []
    for path in paths:
        for file in sorted(path.glob("*.txt")) if path.is_dir() else [path]:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read never-block list {file}: {exc.strerror}") from None
            entries += parse_ranges(text, file.name).entries
    return Ranges(entries)
