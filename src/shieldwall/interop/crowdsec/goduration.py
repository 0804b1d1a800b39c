"""Go's ``time.Duration`` text, which CrowdSec's clients parse with ``time.ParseDuration``.

A decision's ``duration`` field is what the firewall bouncer turns into an
nftables timeout; text it cannot parse silently becomes 4 h there, so the
format must be Go's exactly: ``3h59m58s``, ``1m0.5s``, ``-2s``, ``0s``.
"""

from __future__ import annotations

import math

#: What a block that never expires is sent as: CrowdSec has no "forever", and
#: the longest nft timeout every kernel accepts comfortably is far above a year.
FOREVER_SECONDS = 365 * 86400


def format_go_duration(seconds: float) -> str:
    """Go's ``Duration.String()`` for ``seconds``, to the millisecond.

    Infinite input is sent as :data:`FOREVER_SECONDS`.
    """
    if math.isnan(seconds):
        raise ValueError("a duration cannot be NaN")
    if math.isinf(seconds):
        seconds = math.copysign(FOREVER_SECONDS, seconds)
    millis = round(abs(seconds) * 1000)
    sign = "-" if seconds < 0 and millis else ""
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{sign}{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, frac = divmod(rest, 1000)
    text = f"{secs}.{frac:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text
