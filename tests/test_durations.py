"""One duration syntax everywhere: scenario windows, ban lengths, invite lifetimes."""

from __future__ import annotations

import math

import pytest

from shieldwall.durations import parse_duration
from shieldwall.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("10m", 600), ("1h30m", 5400), ("12h", 43200), ("7d", 604800),
     ("1w", 604800), ("250ms", 0.25), (" 2.5 m ", 150), (45, 45), (0.5, 0.5)],
)
def test_human_units_are_read(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_forever_is_only_accepted_where_allowed() -> None:
    assert parse_duration("forever", allow_forever=True) == math.inf
    assert parse_duration("0", allow_forever=True) == math.inf
    with pytest.raises(ConfigError, match=r"^--for: "):
        parse_duration("forever", "--for")


@pytest.mark.parametrize("text", ["", "soon", "4x", "-5m", "1h-30m", "4h ago", -1, float("nan")])
def test_anything_else_is_refused_with_the_key_named(text: str | float) -> None:
    with pytest.raises(ConfigError, match=r"^window: "):
        parse_duration(text, "window")
