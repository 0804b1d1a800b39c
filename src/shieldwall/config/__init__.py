"""One mechanism for every configuration file Shieldwall reads.

``agent.toml``, ``hub.toml``, the hub's policy, scenario files and pattern packs
are each described by typed, frozen schemas (:class:`Section` subclasses) and
read through :func:`load_toml`/:func:`decode`. They therefore refuse the same
mistakes the same way: an unknown key (with the nearest valid one suggested),
a wrong type or an out-of-range value is an error naming the file and the key
path. Durations are :class:`Duration` fields everywhere (``"4h"``; plain
seconds are still read).
"""

from shieldwall.config.schema import Section, decode, load_toml, parse_toml, problem
from shieldwall.config.types import Duration, Network

__all__ = ["Duration", "Network", "Section", "decode", "load_toml", "parse_toml", "problem"]
