"""The alliance's policy file: its schema and the frozen rules it becomes.

What the *alliance* does with a scenario lives here and only here (see
``default_policy.toml``): ``confirmed`` means one member's word is enough for an
alliance-wide block; otherwise ``quorum`` distinct members must report within
``window``. What a member detects, and whether it blocks at once on its own
host, is the scenarios file's business (``local_block``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Annotated

import msgspec

from shieldwall.addresses import Ranges
from shieldwall.config import Duration, Section, load_toml
from shieldwall.hub.trust import TrustConfig

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class ScenarioRule:
    """How the alliance treats one scenario."""

    name: str
    #: Block duration in seconds (before repeat-offender escalation).
    duration: float
    #: One member's word is enough.
    confirmed: bool = False
    #: Distinct members needed within ``window`` when not confirmed.
    quorum: int = 2
    window: float = HOUR
    #: When above 0, a weighted quorum: the reporters' summed trust weight must reach it
    #: (instead of ``quorum`` heads).
    weight: float = 0.0

    def needed(self) -> int:
        """How many distinct members must report the target."""
        return 1 if self.confirmed else max(1, self.quorum)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The operator's policy, parsed once from TOML (see ``default_policy.toml``)."""

    scenarios: Mapping[str, ScenarioRule]
    #: Rule for scenario names the table does not list.
    unknown: ScenarioRule = ScenarioRule("unknown", HOUR, confirmed=False, quorum=3)
    #: Duration of an operator ban that names none.
    manual_duration: float = DAY
    escalation: float = 2.0
    max_duration: float = 30 * DAY
    #: Offenses older than this are forgotten.
    offense_memory: float = 30 * DAY
    member_decisions_per_hour: int = 1000
    max_prefix_v4: int = 24
    max_prefix_v6: int = 48
    allow_reserved: bool = False
    #: After an operator's lift, re-blocking the target needs two members this long.
    lift_cooldown: float = DAY
    #: Live quorum sightings one member may hold (bounds the hub's memory per member).
    max_sightings_per_member: int = 20_000
    #: Trust earned by track record (weights, probation, quarantine; see hub.trust).
    trust: TrustConfig = field(default_factory=TrustConfig)
    #: The hub's secret canaries (``<hub data>/canaries.txt``, see hub.canaries): never
    #: read from the policy file, which the alliance shares.
    canaries: Ranges = field(default_factory=Ranges, compare=False, repr=False)

    def rule(self, scenario: str) -> ScenarioRule:
        """The rule for ``scenario``, or the rule for unknown scenarios."""
        return self.scenarios.get(scenario) or replace(self.unknown, name=scenario)

    def max_window(self) -> float:
        """The longest quorum window: how far back sightings must be remembered."""
        return max([self.unknown.window, *(r.window for r in self.scenarios.values())])


class _Rule(Section, frozen=True):
    duration: Duration = Duration(HOUR)
    confirmed: bool = False
    quorum: Annotated[int, msgspec.Meta(ge=1)] = 2
    window: Duration = Duration(HOUR)
    weight: Annotated[float, msgspec.Meta(ge=0)] = 0.0

    def rule(self, name: str) -> ScenarioRule:
        return ScenarioRule(
            name, float(self.duration), self.confirmed, self.quorum, float(self.window),
            self.weight,
        )


class _Escalation(Section, frozen=True):
    #: Each earlier offense multiplies the duration by this much.
    factor: Annotated[float, msgspec.Meta(ge=1)] = 2.0
    max_duration: Duration = Duration(30 * DAY)
    memory: Duration = Duration(30 * DAY)


class _Limits(Section, frozen=True):
    member_decisions_per_hour: Annotated[int, msgspec.Meta(ge=1)] = 1000
    max_prefix_v4: Annotated[int, msgspec.Meta(ge=0, le=32)] = 24
    max_prefix_v6: Annotated[int, msgspec.Meta(ge=0, le=128)] = 48
    allow_reserved: bool = False
    manual_duration: Duration = Duration(DAY)
    lift_cooldown: Duration = Duration(DAY)
    max_sightings_per_member: Annotated[int, msgspec.Meta(ge=1)] = 20_000


class _Trust(Section, frozen=True):
    enabled: bool = True
    earn: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    trusted: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.2
    lift_penalty: Annotated[float, msgspec.Meta(ge=0)] = 3.0
    dispute_penalty: Annotated[float, msgspec.Meta(ge=0)] = 3.0
    vouched: tuple[str, ...] = ()
    founders: Duration = Duration(DAY)
    probation: Duration = Duration(DAY)
    single_word: bool = True
    solo_duration: Duration = Duration(0)
    solo_penalty: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    solo_open: Annotated[int, msgspec.Meta(ge=1)] = 10
    solo_quorum: bool = False
    vet_reports: Annotated[int, msgspec.Meta(ge=1)] = 5
    vet_precision: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.25
    vet_open: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    vet_after: Duration = Duration(0)

    def config(self) -> TrustConfig:
        return TrustConfig(
            self.enabled, self.earn, self.trusted, self.lift_penalty, self.dispute_penalty,
            self.vouched, float(self.founders), float(self.probation), self.single_word,
            float(self.solo_duration), self.solo_penalty, self.solo_open, self.solo_quorum,
            self.vet_reports, self.vet_precision, self.vet_open, float(self.vet_after),
        )


class _PolicyFile(Section, frozen=True):
    scenarios: dict[str, _Rule] = msgspec.field(default_factory=dict)
    unknown: _Rule = msgspec.field(default_factory=lambda: _Rule(quorum=3))
    escalation: _Escalation = msgspec.field(default_factory=_Escalation)
    limits: _Limits = msgspec.field(default_factory=_Limits)
    trust: _Trust = msgspec.field(default_factory=_Trust)


def default_policy_text() -> str:
    """The shipped ``default_policy.toml`` (what ``hub init`` copies)."""
    return resources.files("shieldwall.hub").joinpath("default_policy.toml").read_text("utf-8")


def load_policy(text: str | None = None, source: str = "policy") -> PolicyConfig:
    """Parse a policy TOML; ``None`` loads the shipped default table.

    Errors name the key path, e.g. ``policy: scenarios.ssh-bruteforce.duration``.
    """
    if text is None:
        text, source = default_policy_text(), "default_policy.toml"
    file = load_toml(text, _PolicyFile, source)
    return PolicyConfig(
        scenarios={name: raw.rule(name) for name, raw in file.scenarios.items()},
        unknown=file.unknown.rule("unknown"),
        manual_duration=float(file.limits.manual_duration),
        escalation=file.escalation.factor,
        max_duration=float(file.escalation.max_duration),
        offense_memory=float(file.escalation.memory),
        member_decisions_per_hour=file.limits.member_decisions_per_hour,
        max_prefix_v4=file.limits.max_prefix_v4,
        max_prefix_v6=file.limits.max_prefix_v6,
        allow_reserved=file.limits.allow_reserved,
        lift_cooldown=float(file.limits.lift_cooldown),
        max_sightings_per_member=file.limits.max_sightings_per_member,
        trust=file.trust.config(),
    )
