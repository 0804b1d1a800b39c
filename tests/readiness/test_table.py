"""R3: the table is read back and compared with the store, never assumed."""

from __future__ import annotations

import math

import pytest

from shieldwall.addresses import parse_ranges, target_network
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nft_ruleset import TableState
from shieldwall.readiness.table import EnforcementView, check_table

NOW = 1_800_000_000.0
STORE = {f"192.0.2.{n}": Block(f"192.0.2.{n}", NOW + 3600) for n in range(1, 101)}
STORE["2001:db8::/64"] = Block("2001:db8::/64", math.inf)


def table(elements: dict[str, float], problems: tuple[str, ...] = ()) -> TableState:
    return TableState(elements=elements, problems=problems, drops={})


def holding(store: dict[str, Block]) -> TableState:
    return table({t: b.until for t, b in store.items()})


def view(state: TableState | None, store: dict[str, Block] = STORE) -> EnforcementView:
    return EnforcementView(desired=store, table=state)


@pytest.mark.parametrize("full", [False, True])
def test_a_table_holding_exactly_the_store_is_ok(full: bool) -> None:
    check = check_table(view(holding(STORE)), NOW, sample=10, full=full)
    assert (check.code, check.state) == ("R3", "ok")
    assert "101 blocks" in check.reason


def test_a_missing_table_under_a_store_holding_blocks_is_failing() -> None:
    check = check_table(view(None), NOW, sample=10)
    assert check.state == "failing"
    assert "missing" in check.reason and "101 active blocks" in check.reason
    assert "shieldwall enforce apply" in check.reason


def test_a_missing_table_with_nothing_to_enforce_is_degraded() -> None:
    expired = {"192.0.2.1": Block("192.0.2.1", NOW - 5)}
    assert check_table(view(None, expired), NOW, sample=10).state == "degraded"


def test_a_damaged_table_is_failing_with_its_problems() -> None:
    check = check_table(view(table({}, ("chain input is missing",))), NOW, sample=10)
    assert check.state == "failing" and "chain input is missing" in check.reason


def test_a_flushed_set_is_caught_by_the_counts_even_when_the_sample_misses_it() -> None:
    elements = {t: b.until for t, b in STORE.items() if t != "192.0.2.50"}
    # A sample of 0 looks at no target: only the count can see the difference.
    check = check_table(view(table(elements)), NOW, sample=0)
    assert check.state == "failing" and "100 elements, the store 101" in check.reason


def test_the_sample_names_a_block_missing_from_the_table() -> None:
    elements = {t: b.until for t, b in STORE.items() if not t.startswith("192.0.2.1")}
    check = check_table(view(table(elements)), NOW, sample=101)
    assert check.state == "failing" and "not in the table" in check.reason
    assert "192.0.2.1" in check.reason


def test_full_read_back_names_elements_the_store_does_not_hold() -> None:
    elements = {**{t: b.until for t, b in STORE.items()}, "198.51.100.7": NOW + 60}
    check = check_table(view(table(elements)), NOW, sample=10, full=True)
    assert check.state == "failing" and "198.51.100.7" in check.reason


def test_the_same_seed_samples_the_same_blocks() -> None:
    elements = {t: b.until for t, b in STORE.items() if t != "192.0.2.7"}
    first = check_table(view(table(elements)), NOW, sample=30, seed=4)
    assert first == check_table(view(table(elements)), NOW, sample=30, seed=4)


def test_blocks_expiring_right_now_are_left_out_of_both_sides() -> None:
    store = {**STORE, "203.0.113.9": Block("203.0.113.9", NOW + 1)}
    # The kernel already dropped it (its timeout ran out a moment earlier): still ok.
    assert check_table(view(holding(STORE), store), NOW, sample=200, full=True).state == "ok"


def test_a_range_inside_another_is_not_expected_in_the_table() -> None:
    store = {"198.51.100.0/24": Block("198.51.100.0/24", math.inf),
             "198.51.100.128/25": Block("198.51.100.128/25", math.inf)}
    state = table({"198.51.100.0/24": math.inf})
    assert check_table(view(state, store), NOW, sample=10, full=True).state == "ok"


@pytest.mark.parametrize(("backend", "dry_run"), [("memory", False), ("none", False),
                                                  ("nftables", True)])
def test_a_member_that_enforces_nothing_in_the_kernel_is_degraded(backend: str, dry_run: bool) -> None:
    check = check_table(EnforcementView(backend=backend, dry_run=dry_run), NOW, sample=10)
    assert check.state == "degraded" and "nothing is enforced" in check.reason


def test_a_table_that_cannot_be_read_is_failing_with_why() -> None:
    check = check_table(EnforcementView(error="needs CAP_NET_ADMIN"), NOW, sample=10)
    assert check.state == "failing" and "CAP_NET_ADMIN" in check.reason


def test_a_stored_block_on_a_protected_address_is_not_expected_in_the_table() -> None:
    # The agent never enforces what this member's allowlist (or own address) covers.
    protected = parse_ranges(["192.0.2.0/28"], "enforce.allow")
    elements = {t: b.until for t, b in STORE.items() if target_network(t) not in
                {target_network(f"192.0.2.{n}") for n in range(16)}}
    seen = EnforcementView(desired=STORE, table=table(elements), protected=protected)
    check = check_table(seen, NOW, sample=200, full=True)
    assert check.state == "ok" and "86 blocks" in check.reason
    # Without the allowlist the same table is rightly a failure.
    assert check_table(view(table(elements)), NOW, sample=200, full=True).state == "failing"
