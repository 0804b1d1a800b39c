"""Status steps: one promotion at a time, demotion to shadow from anywhere."""

from __future__ import annotations

import pytest

from shieldwall.arsenal.status import check_change, enforces, runs
from shieldwall.errors import ArsenalError


def test_the_steps_that_exist() -> None:
    assert check_change(None, "experimental") == "propose"
    assert check_change("experimental", "test") == "promote"
    assert check_change("test", "stable") == "promote"
    assert check_change("stable", "experimental") == "demote"
    assert check_change("stable", "test") == "demote"
    assert check_change("test", "deprecated") == "retire"


@pytest.mark.parametrize(("current", "new"), [
    (None, "stable"), (None, "test"), ("experimental", "stable"), ("deprecated", "test"),
    ("test", "test"), ("experimental", "bogus"),
])
def test_other_changes_are_refused(current: str | None, new: str) -> None:
    with pytest.raises(ArsenalError):
        check_change(current, new)


def test_only_test_and_stable_enforce_and_deprecated_rules_do_not_run() -> None:
    assert [s for s in ("experimental", "test", "stable", "deprecated") if enforces(s)] == ["test", "stable"]
    assert not runs("deprecated") and runs("experimental")
