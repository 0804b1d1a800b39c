import math

import pytest

from shieldwall.interop.crowdsec.goduration import FOREVER_SECONDS, format_go_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.0004, "0s"), (0.25, "250ms"), (1, "1s"), (1.5, "1.5s"), (59.999, "59.999s"),
    (60, "1m0s"), (61.25, "1m1.25s"), (3600, "1h0m0s"), (14398, "3h59m58s"),
    (90061, "25h1m1s"), (-2, "-2s"), (-3661, "-1h1m1s"), (-0.5, "-500ms"),
])
def test_durations_are_printed_as_go_prints_them(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text


def test_forever_is_sent_as_a_year_because_crowdsec_has_no_forever() -> None:
    assert format_go_duration(math.inf) == format_go_duration(FOREVER_SECONDS) == "8760h0m0s"


def test_nan_is_refused() -> None:
    with pytest.raises(ValueError):
        format_go_duration(math.nan)
