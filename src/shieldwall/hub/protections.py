"""Protected ranges: addresses no signal can get blocked, whoever sends it.

Pure. The hub's protections are the one labelled interval set,
:class:`shieldwall.addresses.Ranges`, built from every member's own ranges, the
hub's address, the alliance allowlist and the operator's never-block lists.
The names below are the hub's words for it; the reserved table the policy also
refuses is :data:`shieldwall.addresses.RESERVED`.
"""

from __future__ import annotations

from shieldwall.addresses import Labelled, Ranges, parse_ranges

#: One protected network and why it is protected (shown by ``explain``).
Protected = Labelled
#: A set of protected networks with fast overlap lookups.
Protections = Ranges


def parse_never_block_list(text: str, label: str) -> list[Protected]:
    """Parse a never-block list (see :func:`shieldwall.addresses.parse_ranges`).

    Raises :class:`~shieldwall.errors.ConfigError` naming the list and the line.
    """
    return list(parse_ranges(text, label).entries)
