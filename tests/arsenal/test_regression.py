"""Every shipped rule passes its regression suite; a rule that flags innocents fails it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from shieldwall.arsenal.regression import regression
from shieldwall.arsenal.rule import parse_rule
from tests.arsenal.alliance import rule_text
from tests.conftest import shared_data

SHIPPED = sorted(p.name for p in (resources.files("shieldwall.arsenal") / "rules").iterdir()
                 if p.name.endswith(".toml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_rule_finds_its_attackers_and_stays_silent_on_negatives(name: str) -> None:
    data = (resources.files("shieldwall.arsenal") / "rules" / name).read_bytes()
    outcomes = regression(parse_rule(data, name), shared_data())
    assert any(o.positive for o in outcomes)
    assert [o.explain() for o in outcomes if not o.passed] == []


def test_a_rule_that_flags_one_failure_fails_on_the_negatives() -> None:
    text = rule_text("jumpy", threshold=1)
    rule = parse_rule(text.replace(b"[rule]", b'[rule]\npositives = ["crowdsec:sshd-invalid-bf"]'))
    failed = [o for o in regression(rule, shared_data()) if not o.passed]
    assert failed and all(not o.positive for o in failed)


def test_shipped_rules_folder_is_not_empty() -> None:
    assert SHIPPED and Path(str(resources.files("shieldwall.arsenal") / "rules")).is_dir()
