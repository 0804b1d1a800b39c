"""What explain says about trust: why each report did not decide on its own word."""

from __future__ import annotations

from shieldwall.hub.trust_admin import member_trust, trust_lines
from tests.hub.test_policy_solo import NOW, detection, policy


def test_explain_names_a_provisional_block_and_a_member_out_of_provisional_blocks() -> None:
    p = policy(solo_open=2)
    p.decide("founder", detection("45.13.9.1"), NOW)
    p.decide("founder", detection("45.13.9.2"), NOW + 1)
    assert p.decide("founder", detection("45.13.9.3"), NOW + 2).kind == "unconfirmed"
    lines = trust_lines(p, ["founder"], NOW + 100, ["45.13.9.1", "45.13.9.3"])
    assert lines == [
        "member 'founder' holds 2 provisional blocks awaiting corroboration (at most 2 at"
        " weight 0.96): its next reports wait for a second member",
        "the block on 45.13.9.1 is provisional: founder's word alone, for 800s more;"
        " 14400s once a member whose word counts reports it too",
    ]


def test_explain_gives_a_newcomers_record_against_the_vetting_bar() -> None:
    p = policy()
    assert p.decide("new", detection(), NOW).kind == "probation"
    line, note = trust_lines(p, ["new", "new"], NOW + 1)
    assert "0 reports corroborated, 0 not, 1 open; its word counts from 5 at 25%" in line
    assert "running hub's memory" in note
    assert len(trust_lines(p, ["new"], NOW + 1, rebuilt=False)) == 1
    assert member_trust(p, "new", NOW + 1).state == "probation"
