"""Scenarios as data: durations, defaults, and errors that name the key to fix."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

from shieldwall.config.types import Duration
from shieldwall.detection.scenario import (
    default_scenarios,
    load_scenarios,
    parse_scenarios,
    scenario_version,
)
from shieldwall.durations import parse_duration
from shieldwall.errors import ConfigError
from shieldwall.events.packs import load_pack
from shieldwall.hub.policy_config import load_policy

GOOD = """
[[scenario]]
name = "brute"
packs = ["sshd"]
kinds = ["auth_failure"]
threshold = 5
window = "10m"
local_block = "4h"
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
    assert (s.name, s.packs, s.kinds, s.threshold, s.window, s.local_block, s.quiet_period) == (
        "brute", frozenset({"sshd"}), frozenset({"auth_failure"}), 5, 600.0, 14400.0, 14400.0
    )
    assert s.distinct is None


def test_defaults_for_window_and_local_block() -> None:
    [s] = parse_scenarios('[[scenario]]\nname="x"\npacks=["a"]\nkinds=["b"]\nthreshold=1\n')
    assert (s.window, s.local_block, s.quiet_period) == (600.0, None, 3600.0)


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
        ('local_block = "-1h"', r"\(brute\)\.local_block"),
        ('quiet = "soon"', r"\(brute\)\.quiet: expected a duration"),
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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('windw = "10m"', "scenario[0] (brute).windw: unknown key, did you mean `window`?"),
        ('treshold = 5', "scenario[0] (brute).treshold: unknown key, did you mean `threshold`?"),
        ('local_blok = "4h"', "scenario[0] (brute).local_blok: unknown key, did you mean `local_block`?"),
    ],
)
def test_a_misspelt_scenario_key_is_an_error_suggesting_the_valid_one(change: str, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(f"mine.toml: {message}")):
        parse_scenarios(GOOD + change + "\n", "mine.toml")


@pytest.mark.parametrize("key", ["confirmed = true", 'duration = "4h"'])
def test_the_old_alliance_keys_say_where_they_went(key: str) -> None:
    moved = r"\(brute\)\.(confirmed|duration): .*local_block = \"4h\".*hub policy"
    with pytest.raises(ConfigError, match=moved):
        parse_scenarios(GOOD + key + "\n", "mine.toml")


#: Where the shipped scenarios (what this host blocks at once) and the shipped policy
#: (what the alliance does) deliberately differ: (local_block, policy confirmed, policy duration).
INTENDED_DIFFERENCES = {
    # A patient guesser is blocked here for a day; the alliance starts at 4 h and
    # escalates for repeat offenders.
    "ssh-slow-bruteforce": (86400.0, True, 14400.0),
    "ssh-credential-stuffing": (86400.0, True, 14400.0),
    # This host trusts its own logs at once; the alliance waits for a second member,
    # because a broken crawler looks like probing.
    "http-probing": (14400.0, False, 3600.0),
}


def test_the_shipped_scenarios_and_policy_differ_only_where_intended() -> None:
    policy = load_policy()
    detected = {s.name: s for s in default_scenarios()}
    # Every detection scenario has its own policy rule (none falls back to `unknown`).
    assert set(detected) == set(policy.scenarios) - {"manual"}
    differences = {}
    for name, scenario in detected.items():
        rule = policy.rule(name)
        alliance_at_once = rule.duration if rule.confirmed else None
        if scenario.local_block != alliance_at_once:
            differences[name] = (scenario.local_block, rule.confirmed, rule.duration)
    assert differences == INTENDED_DIFFERENCES


def test_a_shipped_rule_version_names_the_scenario_and_changes_only_with_its_meaning() -> None:
    brute = next(s for s in default_scenarios() if s.name == "ssh-bruteforce")
    sshd, http = load_pack("sshd"), load_pack("http")
    version = scenario_version(brute, [sshd, http])
    assert version.startswith("ssh-bruteforce@") and len(version.split("@")[1]) == 12
    # Packs it does not read, their order and descriptions do not change it...
    assert scenario_version(brute, [sshd]) == version
    reworded = msgspec.structs.replace(brute, description="another wording")
    assert scenario_version(reworded, [sshd]) == version
    # ...a threshold, a window or a pattern does.
    assert scenario_version(msgspec.structs.replace(brute, threshold=6), [sshd]) != version
    assert scenario_version(msgspec.structs.replace(brute, window=Duration(60.0)), [sshd]) != version
    edited = replace(sshd, patterns=(replace(sshd.patterns[0], regex=sshd.patterns[0].regex + "x"),
                                     *sshd.patterns[1:]))
    assert scenario_version(brute, [edited]) != version
