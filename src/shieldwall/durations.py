"""Durations as people write them: ``90``, ``90s``, ``10m``, ``1h30m``, ``7d``, ``1w``.

One parser for every place that takes a duration (scenario windows, ban
lengths, invite lifetimes, policy durations, the hub's heartbeat), so they all
accept the same spellings. Configuration files reach it through
:class:`shieldwall.config.Duration`.
"""

from __future__ import annotations

import math
import re

from shieldwall.errors import ConfigError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}
_HINT = "use e.g. 90s, 10m, 1h30m, 12h, 7d or 1w"


def duration_seconds(text: object, *, allow_forever: bool = False) -> float:
    """Seconds in ``text``; raises :class:`ValueError` saying what is wrong (no key named).

    Plain numbers are seconds. With ``allow_forever``, ``forever``, ``permanent``
    and ``0`` mean no expiry (``math.inf``).
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        if math.isnan(text) or text < 0:
            raise ValueError(f"must not be negative, got {text}")
        return float(text)
    if not isinstance(text, str):
        raise ValueError(f"expected a duration ({_HINT}), got {text!r}")
    raw = text.strip().lower()
    if allow_forever and raw in ("forever", "permanent", "0"):
        return math.inf
    total, pos = 0.0, 0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos != len(raw):
        raise ValueError(f"expected a duration ({_HINT}), got {text!r}")
    return total


def parse_duration(
    text: str | int | float, where: str = "duration", *, allow_forever: bool = False
) -> float:
    """Seconds in ``text``; raises :class:`ConfigError` naming ``where``."""
    try:
        return duration_seconds(text, allow_forever=allow_forever)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None

