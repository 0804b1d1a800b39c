"""One simulated run: what it counts, on a world small enough to check by hand."""

from __future__ import annotations

from shieldwall.hub.policy_config import load_policy
from shieldwall.lab.trust_model import Attacker, Report, World
from shieldwall.lab.trust_run import run

ATTACKER = "45.13.7.9"


def world() -> World:
    hits = ((10.0, "founder"), (20.0, "honest"))
    reports = [
        Report(10.0, "founder", ATTACKER, "ssh-bruteforce", "attack"),
        Report(20.0, "honest", ATTACKER, "ssh-bruteforce", "attack"),
        Report(30.0, "liar", "23.1.1.1", "ssh-bruteforce", "lie"),     # a customer
        Report(31.0, "liar", "23.2.2.2", "ssh-bruteforce", "lie"),     # a canary
        Report(32.0, "liar", "23.3.3.3", "ssh-bruteforce", "lie"),     # a member's own
        Report(40.0, "newcomer", "23.4.4.4", "ssh-bruteforce", "burst"),
        Report(400.0, "founder", "45.13.7.10", "ssh-bruteforce", "attack"),  # after the dispute
    ]
    return World(
        members=["founder", "honest", "liar"], colluders=frozenset({"liar"}),
        founders=frozenset({"founder"}), newcomer="newcomer",
        owned={"founder": "23.3.3.3", "honest": "23.5.5.5", "liar": "23.6.6.6"},
        canaries=["23.2.2.2"], benign=["23.2.2.2", "23.7.7.7"], customers=["23.1.1.1"],
        attackers=[Attacker(ATTACKER, 3, "ssh-bruteforce", hits)], reports=reports,
        joined={"founder": 0.0, "honest": 0.0, "liar": 0.0, "newcomer": 35.0}, warmup=0.0,
    )


def test_a_run_counts_bans_by_what_the_addresses_truly_are() -> None:
    result = run(world(), load_policy())
    assert (result.protected_bans, result.benign_bans, result.burst_bans) == (0, 0, 0)
    assert (result.eligible, result.banned, result.ban_delays) == (1, 1, (0.0,))
    assert result.corroborated_delays == (0.0,) and result.costs == (0.0,)
    assert result.colluders_quarantined == 1 and result.colluders_trusted == 0


def test_with_trust_off_the_liars_customer_and_the_newcomers_burst_are_banned() -> None:
    result = run(world(), load_policy(), trusted=False)
    assert (result.protected_bans, result.benign_bans, result.burst_bans) == (0, 1, 1)
    assert result.colluders_quarantined == 0 and result.disputes_lifted == 1
