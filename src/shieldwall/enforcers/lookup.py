"""Fast "is this client blocked?" for application middleware.

Single addresses sit in a set of packed bytes (one hash probe); ranges are merged
into sorted, disjoint intervals searched with ``bisect`` (O(log n)). Both are
built once per change of the block list; a lookup allocates almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from shieldwall.addresses import IntervalIndex, is_ipv6, is_range, pack_address, target_network


@dataclass(frozen=True, slots=True)
class BlockLookup:
    """An immutable snapshot of blocked targets, queried by address text.

    ``expires_at`` is the earliest ``until`` among the blocks it was built from:
    the holder rebuilds the snapshot by then (expiry is not checked per lookup,
    which keeps the hot path to one probe and one bisect).
    """

    singles: frozenset[bytes] = frozenset()
    ranges_v4: IntervalIndex = field(default_factory=IntervalIndex)
    ranges_v6: IntervalIndex = field(default_factory=IntervalIndex)
    expires_at: float = float("inf")

    @classmethod
    def from_targets(cls, targets: Iterable[str], expires_at: float = float("inf")) -> BlockLookup:
        """Build from canonical targets (addresses and CIDRs)."""
        singles: set[bytes] = set()
        v4: list[tuple[int, int]] = []
        v6: list[tuple[int, int]] = []
        for target in targets:
            if is_range(target):
                net = target_network(target)
                start = int(net.network_address)
                (v6 if is_ipv6(target) else v4).append((start, start + net.num_addresses - 1))
            else:
                packed = pack_address(target)
                if packed is not None:
                    singles.add(packed)
        return cls(frozenset(singles), IntervalIndex.build(v4), IntervalIndex.build(v6), expires_at)

    def is_blocked(self, address: str) -> bool:
        """True when ``address`` (text, as a server reports it) is blocked.

        Text that is not an address is never blocked: the caller decides what to
        do with a client it cannot identify.
        """
        packed = pack_address(address)
        if packed is None:
            return False
        return self.is_blocked_packed(packed)

    def is_blocked_packed(self, packed: bytes) -> bool:
        """Like :meth:`is_blocked` for packed bytes (4 or 16 long)."""
        if packed in self.singles:
            return True
        value = int.from_bytes(packed, "big")
        index = self.ranges_v4 if len(packed) == 4 else self.ranges_v6
        return index.overlaps(value, value)

    def __len__(self) -> int:
        return len(self.singles) + len(self.ranges_v4) + len(self.ranges_v6)


class BlockCheck(Protocol):
    """Anything that answers "is this client address blocked?" (middleware input)."""

    def is_blocked(self, address: str) -> bool:
        """True when requests from ``address`` must be refused."""
        ...
