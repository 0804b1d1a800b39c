"""Scenarios as data: what to count, how many, over which window."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from shieldwall.durations import parse_duration
from shieldwall.errors import ConfigError


@dataclass(frozen=True)
class Scenario:
    """Count ``kinds`` of events from ``packs`` per address.

    A detection fires when ``threshold`` events fall within ``window`` seconds
    (or, with ``distinct = "user"``, when that many distinct user names do).
    ``duration`` is the block the scenario suggests; the same address is not
    detected again by this scenario for that long (it would be blocked).
    ``confirmed`` tells the hub's policy one member's word is enough.
    """

    name: str
    packs: frozenset[str]
    kinds: frozenset[str]
    threshold: int
    window: float
    duration: float
    distinct: str | None = None
    confirmed: bool = False
    description: str = ""


def _scenario(raw: dict[str, Any], where: str) -> Scenario:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name: a scenario needs a name")
    where = f"{where} ({name})"
    threshold = raw.get("threshold")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ConfigError(f"{where}.threshold: must be a whole number >= 1, got {threshold!r}")
    packs = raw.get("packs", [])
    kinds = raw.get("kinds", [])
    if not packs or not all(isinstance(p, str) for p in packs):
        raise ConfigError(f"{where}.packs: list the packs whose events count, e.g. ['sshd']")
    if not kinds or not all(isinstance(k, str) for k in kinds):
        raise ConfigError(f"{where}.kinds: list the event kinds that count, e.g. ['auth_failure']")
    distinct = raw.get("distinct")
    if distinct not in (None, "user"):
        raise ConfigError(f"{where}.distinct: only 'user' is supported, got {distinct!r}")
    return Scenario(
        name=name,
        packs=frozenset(packs),
        kinds=frozenset(kinds),
        threshold=threshold,
        window=parse_duration(raw.get("window", "10m"), f"{where}.window"),
        duration=parse_duration(raw.get("duration", "4h"), f"{where}.duration"),
        distinct=distinct,
        confirmed=bool(raw.get("confirmed", False)),
        description=str(raw.get("description", "")),
    )


def parse_scenarios(text: str, origin: str = "<string>") -> tuple[Scenario, ...]:
    """Parse a scenarios TOML document (``[[scenario]]`` tables)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    entries = data.get("scenario", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{origin}: no [[scenario]] tables found")
    scenarios = tuple(_scenario(raw, f"{origin}: scenario[{i}]") for i, raw in enumerate(entries))
    names = [s.name for s in scenarios]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"{origin}: duplicate scenario names: {', '.join(sorted(duplicates))}")
    return scenarios


def default_scenarios() -> tuple[Scenario, ...]:
    """The scenarios shipped with Shieldwall (``detection/scenarios.toml``)."""
    text = (resources.files("shieldwall.detection") / "scenarios.toml").read_text("utf-8")
    return parse_scenarios(text, "scenarios.toml")


def load_scenarios(path: str | Path | None) -> tuple[Scenario, ...]:
    """Scenarios from a file, or the shipped defaults when ``path`` is None."""
    if path is None:
        return default_scenarios()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scenarios file {path}: {exc.strerror}") from None
    return parse_scenarios(text, str(path))
