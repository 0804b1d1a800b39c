"""Addresses: the one home for everything Shieldwall knows about IP addresses.

- :mod:`.text`: strict parsing (host names refused, never resolved), the
  tolerant form for never-block lists, canonical target text, and the key an
  attacker is counted under (IPv6 widened to its /64 or the configured prefix).
- :mod:`.span`: the fast paths, targets as integer spans for the hub's hot loop
  (accepting and refusing exactly what :func:`.text.parse_network` does) and
  client addresses as packed bytes for the middleware's lookups.
- :mod:`.ranges`: :class:`Ranges`, the one labelled interval set, used for
  detection exemptions, members' never-block lists, the hub's protections and
  import screening; :func:`parse_ranges` reads every list format.
- :mod:`.reserved`: :data:`RESERVED`, the one table of non-public space, and
  :data:`DRILL_RANGES`, the documentation ranges, the only space a drill may name.
"""

from shieldwall.addresses.ranges import IntervalIndex, Labelled, Ranges, load_ranges, parse_ranges
from shieldwall.addresses.reserved import (
    DRILL_RANGES,
    RESERVED,
    is_drill_target,
    is_public,
    is_reserved,
)
from shieldwall.addresses.span import Target, pack_address, parse_target
from shieldwall.addresses.text import (
    DEFAULT_IPV6_PREFIX,
    IPAddress,
    IPNetwork,
    blame_key,
    blame_key_from_text,
    canonical_target,
    is_ipv6,
    is_range,
    network_target,
    parse_address,
    parse_network,
    target_network,
    widen_network,
)

__all__ = [
    "DEFAULT_IPV6_PREFIX",
    "DRILL_RANGES",
    "RESERVED",
    "IPAddress",
    "IPNetwork",
    "IntervalIndex",
    "Labelled",
    "Ranges",
    "Target",
    "blame_key",
    "blame_key_from_text",
    "canonical_target",
    "is_drill_target",
    "is_ipv6",
    "is_public",
    "is_range",
    "is_reserved",
    "load_ranges",
    "network_target",
    "pack_address",
    "parse_address",
    "parse_network",
    "parse_ranges",
    "parse_target",
    "target_network",
    "widen_network",
]
