"""Scenarios as data: what to count, how many, over which window, and what this host does.

A scenario says what it detects and whether *this host* blocks at once
(``local_block``). What the alliance does with the detection is the hub's
policy (``hub/default_policy.toml``), and only the policy's: the two files
share scenario names, never the meaning of a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from shieldwall.config import Duration, Section, decode, parse_toml, problem
from shieldwall.errors import ConfigError

if TYPE_CHECKING:
    from shieldwall.events.packs import PackSpec

HOUR = 3600.0

_PACKS = "list the packs whose events count, e.g. ['sshd']"
_KINDS = "list the event kinds that count, e.g. ['auth_failure']"
_MOVED = (
    "no longer a scenario key: write `local_block = \"4h\"` to block on this host at once; "
    "what the alliance does is the hub policy's `confirmed`/`duration`"
)


class Scenario(Section, frozen=True):
    """Count ``kinds`` of events from ``packs`` per address.

    A detection fires when ``threshold`` events fall within ``window`` seconds
    (or, with ``distinct = "user"``, when that many distinct user names do).
    ``local_block`` is how long this host blocks the address at once (``None``:
    it only reports, and waits for the alliance). After a detection the same
    address is not detected again by this scenario for :attr:`quiet_period`.
    """

    name: Annotated[str, msgspec.Meta(min_length=1)]
    threshold: Annotated[int, msgspec.Meta(ge=1)]
    packs: Annotated[frozenset[str], msgspec.Meta(min_length=1, description=_PACKS)]
    kinds: Annotated[frozenset[str], msgspec.Meta(min_length=1, description=_KINDS)]
    window: Duration = Duration(600.0)
    local_block: Duration | None = None
    #: Quiet period after a detection; default: ``local_block``, else one hour.
    quiet: Duration | None = None
    distinct: Annotated[
        Literal["user"] | None, msgspec.Meta(description="only 'user' is supported")
    ] = None
    description: str = ""

    @property
    def quiet_period(self) -> float:
        """Seconds during which a detected address is not detected again (it is being handled)."""
        if self.quiet is not None:
            return float(self.quiet)
        return float(self.local_block) if self.local_block is not None else HOUR


class _ScenarioFile(Section, frozen=True):
    scenario: Annotated[
        tuple[Scenario, ...], msgspec.Meta(min_length=1, description="no [[scenario]] tables found")
    ]


def parse_scenarios(text: str, origin: str = "<string>") -> tuple[Scenario, ...]:
    """Parse a scenarios TOML document (``[[scenario]]`` tables)."""
    data = parse_toml(text, origin)
    entries = data.get("scenario")
    for index, raw in enumerate(entries if isinstance(entries, list) else []):
        moved = sorted({"confirmed", "duration"} & set(raw if isinstance(raw, dict) else ()))
        if moved:
            name = raw.get("name")
            where = f"scenario[{index}] ({name})" if isinstance(name, str) else f"scenario[{index}]"
            raise problem(origin, f"{where}.{moved[0]}", _MOVED)
    scenarios = decode(data, _ScenarioFile, origin).scenario
    names = [s.name for s in scenarios]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"{origin}: duplicate scenario names: {', '.join(sorted(duplicates))}")
    return scenarios


def default_scenarios() -> tuple[Scenario, ...]:
    """The scenarios shipped with Shieldwall (``detection/scenarios.toml``)."""
    text = (resources.files("shieldwall.detection") / "scenarios.toml").read_text("utf-8")
    return parse_scenarios(text, "scenarios.toml")


def _plain(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    return float(value) if isinstance(value, float) else value  # a Duration is a float


def scenario_version(scenario: Scenario, packs: Iterable[PackSpec]) -> str:
    """The rule version of a scenario run on ``packs``: ``<name>@<12 hex digits>``.

    The digits are the SHA-256 of what the detection means: the scenario's keys and, for
    each pack it counts, the patterns that turn lines into its events (descriptions and
    samples aside). The same definition gives the same version on every member; a changed
    threshold, window or pattern gives another. Signals carry it, decisions name it, the
    arsenal measures it (an alliance rule's version is its own ``name@version``).
    """
    meaning = {
        "scenario": {k: _plain(v) for k, v in msgspec.structs.asdict(scenario).items() if k != "description"},
        "packs": [{"name": p.name, "format": p.format, "program": p.program,
                   "patterns": [[x.name, x.kind, x.role, x.regex] for x in p.patterns]}
                  for p in sorted(packs, key=lambda p: p.name) if p.name in scenario.packs],
    }
    digest = hashlib.sha256(msgspec.json.encode(meaning, order="sorted")).hexdigest()
    return f"{scenario.name}@{digest[:12]}"


def load_scenarios(path: str | Path | None) -> tuple[Scenario, ...]:
    """Scenarios from a file, or the shipped defaults when ``path`` is None."""
    if path is None:
        return default_scenarios()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read scenarios file {path}: {exc.strerror}") from None
    return parse_scenarios(text, str(path))
