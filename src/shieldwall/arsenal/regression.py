"""The regression suite a rule must pass before it can be proposed.

A rule names labelled fixtures from the shared data sets: ``crowdsec:<folder>``
(CrowdSec hub tests: ``config.yaml`` names the log, ``scenario.assert`` the
sources that must be caught) and ``fail2ban:<file>`` (fail2ban test logs, a negative:
the rule may flag no host fail2ban never labels an attacker). Positives must flag every
expected attacker; negatives must flag nobody. Every rule is also run over the
negatives of the service it reads (:data:`SERVICE_NEGATIVES`), whatever it lists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from shieldwall.addresses import DEFAULT_IPV6_PREFIX, blame_key_from_text
from shieldwall.arsenal.rule import Rule
from shieldwall.detection.detector import Detector
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream

_SOURCE = re.compile(r'"([^"]+)" in results\[\d+\]\.Overflow\.GetSources\(\)')
_LOG_FILE = re.compile(r"^log_file:\s*(\S+)", re.M)
YEAR = 2026

#: Fixtures of legitimate traffic every rule reading a service must stay silent on.
SERVICE_NEGATIVES: dict[str, tuple[str, ...]] = {
    "sshd": ("crowdsec:sshd-logs-fp", "crowdsec:sshd-success-logs", "fail2ban:sshd"),
}


@dataclass(frozen=True)
class Outcome:
    """One fixture's verdict for one rule."""

    fixture: str
    positive: bool
    expected: frozenset[str]
    flagged: frozenset[str]

    @property
    def passed(self) -> bool:
        """Positives flag every expected attacker; negatives flag nobody."""
        if self.positive:
            return bool(self.expected) and self.expected <= self.flagged
        return not self.flagged

    def explain(self) -> str:
        """One line for the operator."""
        if self.passed:
            return f"ok    {self.fixture}: flagged {', '.join(sorted(self.flagged)) or 'nobody'}"
        if self.positive:
            missed = sorted(self.expected - self.flagged) or ["(the fixture names no attacker)"]
            return f"FAIL  {self.fixture}: missed {', '.join(missed)}"
        return f"FAIL  {self.fixture}: a negative, yet flagged {', '.join(sorted(self.flagged))}"


def _flagged(rule: Rule, data: bytes) -> frozenset[str]:
    pack = rule.pack or load_pack(rule.reads)
    stream = EventStream(pack, year=YEAR)
    detector = Detector(rule.scenarios)
    return frozenset(d.key for d in detector.feed(stream.feed(data)))


def run_fixture(rule: Rule, fixture: str, positive: bool, data_dir: Path) -> Outcome:
    """Run ``rule`` over one fixture (``crowdsec:folder`` or ``fail2ban:file``)."""
    kind, _, name = fixture.partition(":")
    if kind == "crowdsec":
        folder = data_dir / "crowdsec-hub-tests" / name
        config = (folder / "config.yaml").read_text("utf-8")
        match = _LOG_FILE.search(config)
        log = (folder / match.group(1)).read_bytes() if match else b""
        asserted = folder / "scenario.assert"
        text = asserted.read_text("utf-8") if asserted.exists() else ""
        expected = frozenset(_SOURCE.findall(text))
        return Outcome(fixture, positive, expected, _flagged(rule, log))
    text = (data_dir / "fail2ban-test-logs" / "logs" / name).read_text("utf-8", "replace")
    # fail2ban labels lines of a sequence (its "false" often means "not yet"), so the
    # file is read whole: the rule must flag no host fail2ban never calls an attacker.
    attackers: set[str] = set()
    for label in text.splitlines():
        if label.startswith("# failJSON:"):
            try:
                fields = json.loads(label.split(":", 1)[1])
            except ValueError:
                continue
            if fields.get("match") is True and isinstance(fields.get("host"), str):
                key = blame_key_from_text(fields["host"], DEFAULT_IPV6_PREFIX)
                if key is not None:
                    attackers.add(key)
    return Outcome(fixture, False, frozenset(), _flagged(rule, text.encode()) - attackers)


def regression(rule: Rule, data_dir: Path) -> list[Outcome]:
    """Every fixture the rule names, plus its service's negatives."""
    negatives = dict.fromkeys((*rule.negatives, *SERVICE_NEGATIVES.get(rule.reads, ())))
    out = [run_fixture(rule, f, True, data_dir) for f in rule.positives]
    out += [run_fixture(rule, f, False, data_dir) for f in negatives]
    return out
