"""The body budget: what all unfinished request bodies may hold together."""

from __future__ import annotations

import pytest

from shieldwall.hub.body import BodyBudget
from shieldwall.hub.problem import ProblemError


def test_the_budget_refuses_beyond_its_limit_and_frees_what_is_given_back() -> None:
    budget = BodyBudget(1000)
    budget.take(600)
    with pytest.raises(ProblemError) as caught:
        budget.take(600)
    assert (caught.value.reason, caught.value.status) == ("busy", 503)
    assert budget.refused == 1 and budget.held == 600
    budget.give_back(600)
    budget.take(1000)
    assert budget.held == 1000
