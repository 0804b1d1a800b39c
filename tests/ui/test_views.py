"""What the dashboard's pages show, from records and ``now``."""

from __future__ import annotations

from shieldwall.decisions.decision import Decision
from shieldwall.hub.ledger.storage import MemberRecord
from shieldwall.ui import views

NOW = 1_764_380_000.0


def block(cursor: int, target: str = "203.0.113.7", *, created: float = NOW - 60,
          scenario: str = "ssh-bruteforce", drill: str = "", action: str = "block",
          until: float = NOW + 3600) -> Decision:
    return Decision(cursor=cursor, action=action, target=target, until=until,  # type: ignore[arg-type]
                    scenario=scenario, origin="alice,bob", created=created, drill=drill,
                    policy="ab" * 32, rule="sshd@3/ssh-bruteforce@2")


def test_a_search_canonicalises_the_address_and_names_a_bad_one() -> None:
    search, problem = views.parse_search({"q": " 2001:DB8::/32 ", "scenario": "x", "before": "9"})
    assert (search.target, search.scenario, search.before, problem) == ("2001:db8::/32", "x", 9, "")
    bad, problem = views.parse_search({"q": "example.org", "before": "soon"})
    assert bad.target == "" and problem.startswith("not an address or CIDR")
    _, problem = views.parse_search({"before": "soon"})
    assert problem == "before: not a cursor"
    assert views.parse_search({})[0].empty and not search.empty
    long, _ = views.parse_search({"member": "m" * 1000})
    assert len(long.member) == 128


def test_a_row_says_how_long_a_block_has_left_or_that_it_is_over() -> None:
    row = views.decision_row(block(1), NOW)
    assert (row.remaining, row.policy, row.drill) == ("1h", "ab" * 6, False)
    assert row.rule == "sshd@3/ssh-bruteforce@2"
    assert views.decision_row(block(2, until=NOW - 1), NOW).remaining == "expired"
    assert views.decision_row(block(3, action="lift"), NOW).remaining == "lifted"
    assert views.decision_row(block(4, drill="d1"), NOW).drill
    assert views.decision_row(block(5), NOW).created == "2025-11-29 01:32:20"
    assert views.clock_text(0) == "-"
    assert [views.span_text(s) for s in (5, 90, 7200, 3 * 86400, -4)] == ["5s", "2m", "2h", "3d", "0s"]


def test_the_older_page_starts_below_the_last_row_of_a_full_page() -> None:
    full = [block(c) for c in range(200, 100, -1)]
    assert views.older_page(full) == 101
    assert views.older_page(full[:50]) == 0
    assert views.older_page([block(1)], limit=1) == 0


def test_members_show_the_roster_state_first_then_what_the_ledger_knows() -> None:
    def member(name: str, **kw: object) -> MemberRecord:
        return MemberRecord(name=name, key_id=name, public_key=b"k", owns=("192.0.2.0/24",),
                            joined=NOW - 10, **kw)  # type: ignore[arg-type]

    rows = views.member_rows([
        member("zed", last_seen=NOW - 10, cursor=7),
        member("amy", revoked_at=NOW, revoked_why="expelled"),
        member("bea", last_seen=NOW - 3600),
        member("cid"),
        member("dan", last_seen=NOW - 3600),
    ], head=10, now=NOW, readiness={"dan": "failing"})
    assert [(r.name, r.state, r.lag) for r in rows] == [
        ("amy", "expelled", 10), ("bea", "silent", 10), ("cid", "unknown", 10),
        ("dan", "failing", 10), ("zed", "seen", 3),
    ]
    assert rows[0].owns == "192.0.2.0/24"


def test_attacks_count_blocks_per_hour_and_scenario_never_lifts_or_drills() -> None:
    hour = 3600
    decisions = [
        block(1, created=NOW - 10), block(2, created=NOW - 20, scenario="http-probe"),
        block(3, created=NOW - 2 * hour), block(4, created=NOW - 30 * hour),
        block(5, created=NOW - 5, action="lift"), block(6, created=NOW - 5, drill="d"),
    ]
    labels, series = views.attacks_by_hour(decisions, NOW, hours=24)
    assert len(labels) == 24 and labels[-1] == "01:00"
    assert series["ssh-bruteforce"][-1] == 1 and series["ssh-bruteforce"][-3] == 1
    assert sum(series["ssh-bruteforce"]) == 2 and sum(series["http-probe"]) == 1
    assert list(series) == ["http-probe", "ssh-bruteforce"]


def test_top_ranks_by_count_then_name_and_skips_empty_values() -> None:
    tallies = views.top(["b", "a", "b", "", "c", "a", "b"], n=2)
    assert [(t.label, t.count) for t in tallies] == [("b", 3), ("a", 2)]
