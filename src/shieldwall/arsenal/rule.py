"""An alliance rule: one TOML file holding scenarios (and optionally a pattern pack).

A rule is what the alliance distributes, measures and promotes as one unit. Its
identity is ``name@version``; its bytes are what the signed target pins, so a
rule never changes under a version: a changed rule is a new version.

The file (see README "The arsenal")::

    [rule]
    name = "ssh-quick-guess"
    version = 1
    reads = "sshd"                      # the source pack whose lines it reads
    positives = ["crowdsec:ssh-bf"]     # labelled fixtures it must catch
    negatives = ["crowdsec:sshd-logs-fp"]

    [[scenario]]                        # the scenarios file's own keys
    name = "ssh-quick-guess"
    packs = ["sshd"]
    kinds = ["auth_failure"]
    threshold = 3
    window = "1m"

An optional ``pack = '''...'''`` string holds a whole pattern pack (the
``events/packs/*.toml`` format) for rules that need new patterns; scenarios
then name that pack. What the rule's *status* is lives in the signed target,
never in the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

import msgspec

from shieldwall.config import Section, decode, parse_toml
from shieldwall.detection.scenario import Scenario
from shieldwall.errors import ArsenalError, ConfigError, PackError
from shieldwall.events.packs import PackSpec, builtin_pack_names, parse_pack

#: A rule file larger than this is refused (a rule is a few KiB).
MAX_RULE_BYTES = 64 * 1024
RuleName = Annotated[str, msgspec.Meta(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Fixture = Annotated[str, msgspec.Meta(pattern=r"^(crowdsec|fail2ban):[A-Za-z0-9_.-]+$")]


class _Header(Section, frozen=True):
    name: RuleName
    version: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    reads: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
    description: str = ""
    positives: tuple[Fixture, ...] = ()
    negatives: tuple[Fixture, ...] = ()


class _RuleFile(Section, frozen=True):
    rule: _Header
    scenario: Annotated[tuple[Scenario, ...], msgspec.Meta(min_length=1, max_length=16)]
    pack: str = ""


@dataclass(frozen=True)
class Rule:
    """A parsed rule; ``raw`` is the exact bytes its target pins."""

    name: str
    version: int
    reads: str
    description: str
    scenarios: tuple[Scenario, ...]
    pack: PackSpec | None
    positives: tuple[str, ...]
    negatives: tuple[str, ...]
    raw: bytes

    @property
    def id(self) -> str:
        """``name@version``: what decisions, figures and targets call this rule."""
        return f"{self.name}@{self.version}"

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file's bytes."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def target_path(self) -> str:
        """Its path in the alliance's TUF repository."""
        return f"rules/{self.id}.toml"


def parse_rule(raw: bytes, origin: str = "<rule>") -> Rule:
    """Parse a rule file; raises :class:`ArsenalError` ``invalid`` naming the key to fix."""
    if len(raw) > MAX_RULE_BYTES:
        raise ArsenalError("invalid", f"{origin}: {len(raw)} bytes (a rule file may hold {MAX_RULE_BYTES})")
    try:
        text = raw.decode("utf-8")
        file = decode(parse_toml(text, origin), _RuleFile, origin)
        pack = parse_pack(file.pack, f"{origin}: pack") if file.pack else None
    except UnicodeDecodeError:
        raise ArsenalError("invalid", f"{origin}: not UTF-8 text") from None
    except (ConfigError, PackError) as exc:
        raise ArsenalError("invalid", str(exc)) from None
    header = file.rule
    known = {header.reads} | ({pack.name} if pack is not None else set())
    if pack is None and header.reads not in builtin_pack_names():
        raise ArsenalError("invalid", f"{origin}: rule.reads: {header.reads!r} is not a shipped pack "
                           f"(shipped: {', '.join(builtin_pack_names())}); or give the rule a `pack`")
    for index, scenario in enumerate(file.scenario):
        stray = sorted(scenario.packs - known)
        if stray:
            raise ArsenalError("invalid", f"{origin}: scenario[{index}].packs: {stray[0]!r} is neither "
                               f"rule.reads nor the rule's own pack ({', '.join(sorted(known))})")
    names = [s.name for s in file.scenario]
    if len(set(names)) != len(names):
        raise ArsenalError("invalid", f"{origin}: scenario names repeat: {', '.join(names)}")
    return Rule(
        name=header.name, version=header.version, reads=header.reads,
        description=header.description, scenarios=file.scenario, pack=pack,
        positives=header.positives, negatives=header.negatives, raw=raw,
    )
