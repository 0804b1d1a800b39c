"""Render and parse the table; parsing runs on listings recorded from real nft 1.0.6."""

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nft_ruleset import (
    parse_table,
    render_plan,
    render_table,
    render_uninstall,
    set_for,
)
from shieldwall.enforcers.plan import Plan
from shieldwall.errors import EnforcerError

RECORDED = Path(__file__).parent / "recorded"
NOW = 1000.0


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def test_targets_go_to_hash_sets_and_ranges_to_interval_sets() -> None:
    assert set_for("192.0.2.7") == "block_v4"
    assert set_for("2001:db8::1") == "block_v6"
    assert set_for("198.51.100.0/24") == "range_v4"
    assert set_for("2001:db8::/32") == "range_v6"


def test_full_table_replaces_only_our_table_atomically() -> None:
    script = render_table([Block("192.0.2.7", NOW + 2.5), Block("2001:db8::/32")], NOW)
    lines = script.splitlines()
    assert lines[:3] == [
        "add table inet shieldwall",
        "delete table inet shieldwall",
        "table inet shieldwall {",
    ]
    assert "add element inet shieldwall block_v4 { 192.0.2.7 timeout 2500ms }" in lines
    assert "add element inet shieldwall range_v6 { 2001:db8::/32 }" in lines
    assert "type filter hook input priority -10; policy accept;" in script
    assert all("table inet shieldwall" in line for line in lines if "table" in line)


def test_expired_block_is_not_rendered() -> None:
    script = render_table([Block("192.0.2.7", NOW - 1), Block("192.0.2.8", NOW + 0.0001)], NOW)
    assert "192.0.2.7" not in script
    assert "192.0.2.8 timeout 1ms" in script


def test_removal_is_an_add_then_delete_so_an_expired_element_cannot_fail_the_batch() -> None:
    plan = Plan(add=(Block("192.0.2.9", NOW + 60),), remove=("192.0.2.7", "2001:db8::/32"))
    assert render_plan(plan, NOW).splitlines() == [
        "add element inet shieldwall block_v4 { 192.0.2.7 }",
        "add element inet shieldwall range_v6 { 2001:db8::/32 }",
        "delete element inet shieldwall block_v4 { 192.0.2.7 }",
        "delete element inet shieldwall range_v6 { 2001:db8::/32 }",
        "add element inet shieldwall block_v4 { 192.0.2.9 timeout 60000ms }",
    ]


def test_range_replacement_flushes_both_range_sets_then_adds() -> None:
    plan = Plan(
        add=(Block("192.0.2.9", NOW + 1),),
        remove=("192.0.2.7",),
        ranges=(Block("198.51.100.0/24", NOW + 60), Block("2001:db8::/32")),
    )
    assert render_plan(plan, NOW).splitlines() == [
        "add element inet shieldwall block_v4 { 192.0.2.7 }",
        "delete element inet shieldwall block_v4 { 192.0.2.7 }",
        "flush set inet shieldwall range_v4",
        "flush set inet shieldwall range_v6",
        "add element inet shieldwall range_v4 { 198.51.100.0/24 timeout 60000ms }",
        "add element inet shieldwall range_v6 { 2001:db8::/32 }",
        "add element inet shieldwall block_v4 { 192.0.2.9 timeout 1000ms }",
    ]


def test_empty_plan_renders_nothing() -> None:
    assert render_plan(Plan(), NOW) == ""


def test_uninstall_names_only_our_table() -> None:
    assert render_uninstall() == "add table inet shieldwall\ndelete table inet shieldwall\n"


def test_intact_listing_parses_elements_and_expiries() -> None:
    state = parse_table(recorded("table_intact.json"), NOW)
    assert state.intact, state.problems
    assert state.elements == {
        "192.0.2.7": NOW + 3599,
        "192.0.2.8": math.inf,
        "2001:db8::1": NOW + 59,
        "198.51.100.0/24": NOW + 7199,
        "2001:db8:bad::/48": math.inf,
    }
    assert state.drops == {"block_v4": 0, "range_v4": 0, "block_v6": 0, "range_v6": 0}


def test_other_tables_in_a_ruleset_listing_are_ignored() -> None:
    state = parse_table(recorded("ruleset_with_other_table.json"), NOW)
    assert state.intact
    assert "192.0.2.99" not in state.elements


def test_missing_table_is_a_problem() -> None:
    state = parse_table(recorded("ruleset_without_table.json"), NOW)
    assert not state.intact
    assert state.problems == ("table inet shieldwall is missing",)


def test_deleted_rule_and_set_are_reported() -> None:
    state = parse_table(recorded("table_rule_and_set_deleted.json"), NOW)
    assert not state.intact
    assert "set range_v4 is missing" in state.problems
    assert any("@range_v4" in p for p in state.problems)


def test_foreign_rule_in_our_chain_is_reported() -> None:
    state = parse_table(recorded("table_foreign_rule.json"), NOW)
    assert not state.intact
    assert any("1 unexpected" in p for p in state.problems)


def test_element_added_as_a_non_prefix_range_is_kept_as_written() -> None:
    state = parse_table(recorded("table_with_odd_range.json"), NOW)
    assert "203.0.113.10-203.0.113.20" in state.elements


def test_output_that_is_not_nft_json_is_an_enforcer_error() -> None:
    with pytest.raises(EnforcerError):
        parse_table("Error: something", NOW)


def test_rendered_table_round_trips_through_the_recorded_shape() -> None:
    # The recorded listing was produced by loading render_table() of these blocks.
    blocks = [
        Block("192.0.2.7", NOW + 3600),
        Block("192.0.2.8"),
        Block("2001:db8::1", NOW + 60),
        Block("198.51.100.0/24", NOW + 7200),
        Block("2001:db8:bad::/48"),
    ]
    state = parse_table(recorded("table_intact.json"), NOW)
    assert set(state.elements) == {b.target for b in blocks}
    assert "add element" in render_table(blocks, NOW)


def _tampered(change: Callable[[list[dict[str, Any]]], None]) -> str:
    doc = json.loads(recorded("table_intact.json"))
    change(doc["nftables"])
    return json.dumps(doc)


def _body(items: list[dict[str, Any]], kind: str, index: int = 0) -> dict[str, Any]:
    return [item[kind] for item in items if kind in item][index]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda items: items.append({"set": {"family": "inet", "table": "shieldwall", "name": "x",
                                             "type": "ipv4_addr"}}), "unexpected set x"),
        (lambda items: _body(items, "set").update(type="ipv6_addr"), "set block_v4 has type"),
        (lambda items: _body(items, "chain").update(policy="drop"), "is not a filter/input"),
        (lambda items: _body(items, "chain").update(name="other"), "chains are ['other']"),
        (lambda items: _body(items, "rule").update(chain="other"), "rules differ"),
        (lambda items: _body(items, "rule").update(expr=[{"accept": None}]), "rules differ"),
        (lambda items: _body(items, "rule")["expr"][0]["match"].update(op="!="), "rules differ"),
        (lambda items: _body(items, "rule")["expr"][0]["match"].update(right="block_v4"),
         "rules differ"),
        (lambda items: _body(items, "rule")["expr"][0].update(match=[]), "rules differ"),
    ],
)
def test_a_table_changed_behind_our_back_is_reported_not_trusted(
    change: Callable[[list[dict[str, Any]]], None], problem: str
) -> None:
    state = parse_table(_tampered(change), NOW)
    assert not state.intact
    assert any(problem in p for p in state.problems), state.problems


@pytest.mark.parametrize("element", [{"elem": {"val": 7}}, {"concat": ["a", "b"]}, 3.5])
def test_an_element_we_never_add_is_an_enforcer_error(element: object) -> None:
    def change(items: list[dict[str, Any]]) -> None:
        _body(items, "set")["elem"] = [element]

    with pytest.raises(EnforcerError, match="unexpected element"):
        parse_table(_tampered(change), NOW)


def test_elements_without_expiry_or_with_a_timeout_only_are_read() -> None:
    def change(items: list[dict[str, Any]]) -> None:
        _body(items, "set")["elem"] = ["192.0.2.1", {"elem": {"val": "192.0.2.2", "timeout": 60}}]
        _body(items, "set", 1)["elem"] = ["2001:DB8::1"]

    state = parse_table(_tampered(change), NOW)
    assert state.elements["192.0.2.1"] == math.inf
    assert state.elements["192.0.2.2"] == NOW + 60
    assert state.elements["2001:db8::1"] == math.inf
