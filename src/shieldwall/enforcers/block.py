"""One active block: a target (address or CIDR) and when it expires."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Canonical target text lives with the other address code; these names are
# re-exported for modules that import them from here.
from shieldwall.addresses import canonical_target as canonical_target
from shieldwall.addresses import is_ipv6 as is_ipv6
from shieldwall.addresses import is_range as is_range
from shieldwall.addresses import network_target as network_target
from shieldwall.addresses import target_network as target_network

#: ``until`` of a block that never expires (kept until lifted).
FOREVER = math.inf


@dataclass(frozen=True, slots=True)
class Block:
    """A target blocked until ``until`` (Unix seconds; :data:`FOREVER` for no expiry).

    ``target`` is canonical (see :func:`shieldwall.addresses.canonical_target`):
    a plain address for a single host, ``network/len`` for a wider range.
    Everything downstream (sets, exports, lookups) trusts that form, so build
    blocks through ``canonical_target`` at the boundary.
    """

    target: str
    until: float = FOREVER
    origin: str = ""
    scenario: str = ""
    reason: str = ""
    created: float = 0.0

    def active(self, now: float) -> bool:
        """True while the block has not expired at ``now``."""
        return self.until > now
