"""Moved to :mod:`shieldwall.addresses` (the one home for addresses).

Re-exported here only for modules outside the agent's side that still import
from the old place; new code imports :mod:`shieldwall.addresses`.
"""

from shieldwall.addresses import (
    DEFAULT_IPV6_PREFIX,
    IntervalIndex,
    IPAddress,
    IPNetwork,
    blame_key,
    blame_key_from_text,
    parse_address,
    parse_network,
    widen_network,
)

__all__ = [
    "DEFAULT_IPV6_PREFIX",
    "IPAddress",
    "IPNetwork",
    "IntervalIndex",
    "blame_key",
    "blame_key_from_text",
    "parse_address",
    "parse_network",
    "widen_network",
]
