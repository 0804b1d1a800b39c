"""Moved to :mod:`shieldwall.addresses.span` (the one home for addresses).

Re-exported for the hub's modules that import it from here.
"""

from shieldwall.addresses.span import Target, parse_target

__all__ = ["Target", "parse_target"]
