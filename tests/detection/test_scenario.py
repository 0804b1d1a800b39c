"""Scenarios as data: durations, defaults, and errors that name the key to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.detection.scenario import (
    default_scenarios,
    load_scenarios,
    parse_duration,
    parse_scenarios,
)
from shieldwall.errors import ConfigError

GOOD = """
[[scenario]]
name = "brute"
packs = ["sshd"]
kinds = ["auth_failure"]
threshold = 5
window = "10m"
duration = "4h"
confirmed = true
"""


@pytest.mark.parametrize(
    "text,seconds",
    [(90, 90.0), (1.5, 1.5), ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("12h", 43200.0),
     ("7d", 604800.0), ("1w", 604800.0), ("250ms", 0.25), (" 2.5 m ", 150.0)],
)
def test_durations(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["ten minutes", "10 parsecs", "-5m", "", True, None, [1]])
def test_bad_durations_name_the_key(text: object) -> None:
    with pytest.raises(ConfigError, match=r"^scenario\[0\]\.window: "):
        parse_duration(text, "scenario[0].window")  # type: ignore[arg-type]


def test_negative_numbers_are_refused() -> None:
    with pytest.raises(ConfigError, match="must not be negative"):
        parse_duration(-1)


def test_a_scenario_reads_all_its_fields() -> None:
    [s] = parse_scenarios(GOOD)
    assert (s.name, s.packs, s.kinds, s.threshold, s.window, s.duration, s.confirmed) == (
        "brute", frozenset({"sshd"}), frozenset({"auth_failure"}), 5, 600.0, 14400.0, True
    )
    assert s.distinct is None


def test_defaults_for_window_and_duration() -> None:
    [s] = parse_scenarios('[[scenario]]\nname="x"\npacks=["a"]\nkinds=["b"]\nthreshold=1\n')
    assert (s.window, s.duration, s.confirmed) == (600.0, 14400.0, False)


@pytest.mark.parametrize(
    "change,message",
    [
        ('threshold = 0', r"scenario\[0\] \(brute\)\.threshold: must be a whole number >= 1"),
        ('threshold = "5"', r"\(brute\)\.threshold"),
        ('threshold = true', r"\(brute\)\.threshold"),
        ('packs = []', r"\(brute\)\.packs: list the packs"),
        ('packs = [1]', r"\(brute\)\.packs"),
        ('kinds = []', r"\(brute\)\.kinds: list the event kinds"),
        ('distinct = "host"', r"\(brute\)\.distinct: only 'user'"),
        ('window = "soon"', r"\(brute\)\.window: expected a duration"),
        ('duration = "-1h"', r"\(brute\)\.duration"),
    ],
)
def test_scenario_toml_errors_name_the_key(change: str, message: str) -> None:
    key = change.split(" =")[0]
    lines = [line for line in GOOD.splitlines() if not line.startswith(key + " ")]
    text = "\n".join([*lines, change])
    with pytest.raises(ConfigError, match=message):
        parse_scenarios(text, "mine.toml")


def test_a_scenario_without_a_name_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"mine.toml: scenario\[0\]\.name"):
        parse_scenarios('[[scenario]]\nthreshold=1\n', "mine.toml")


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="duplicate scenario names: brute"):
        parse_scenarios(GOOD + GOOD)


@pytest.mark.parametrize("text", ["", "scenario = 1", "[[scenario]\n"])
def test_documents_without_scenarios_or_not_toml_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=r"mine\.toml: "):
        parse_scenarios(text, "mine.toml")


def test_shipped_defaults_cover_the_issue_thresholds() -> None:
    by_name = {s.name: s for s in default_scenarios()}
    assert (by_name["ssh-bruteforce"].threshold, by_name["ssh-bruteforce"].window) == (5, 600.0)
    assert (by_name["ssh-slow-bruteforce"].threshold, by_name["ssh-slow-bruteforce"].window) == (
        20, 12 * 3600.0
    )
    assert by_name["ssh-credential-stuffing"].distinct == "user"
    assert (by_name["http-probing"].threshold, by_name["http-probing"].window) == (10, 60.0)
    assert (by_name["http-4xx-burst"].threshold, by_name["http-4xx-burst"].window) == (30, 60.0)


def test_load_scenarios_from_a_file_or_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(GOOD)
    assert [s.name for s in load_scenarios(path)] == ["brute"]
    assert load_scenarios(None) == default_scenarios()
    with pytest.raises(ConfigError, match="cannot read scenarios file"):
        load_scenarios(tmp_path / "missing.toml")
