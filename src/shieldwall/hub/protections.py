"""Protected ranges: addresses no signal can get blocked, whoever sends it.

Pure. The hub's protections are the one labelled interval set,
:class:`shieldwall.addresses.Ranges`, built from every member's own ranges, the
hub's address, the alliance allowlist and the operator's never-block lists.
The names below are the hub's words for it; lists are read by
:func:`shieldwall.addresses.parse_ranges`, and the reserved table the policy
also refuses is :data:`shieldwall.addresses.RESERVED`.
"""

from __future__ import annotations

from shieldwall.addresses import Labelled, Ranges

#: One protected network and why it is protected (shown by ``explain``).
Protected = Labelled
#: A set of protected networks with fast overlap lookups.
Protections = Ranges

