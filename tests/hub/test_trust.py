"""Trust weights: founders, earned credit, penalties, probation, quarantine."""

from __future__ import annotations

from shieldwall.hub.trust import Trust, TrustConfig, TrustEvent, decode_event, encode_event

NOW = 1_764_380_000.0
DAY = 86400.0


def trust(**config: object) -> Trust:
    joined = {"founder": NOW - 30 * DAY, "elder": NOW - 30 * DAY + 3600,
              "old": NOW - 10 * DAY, "new": NOW, "new2": NOW}
    return Trust(TrustConfig(**config), joined=joined)  # type: ignore[arg-type]


def test_founders_start_at_full_weight_and_later_joiners_at_zero() -> None:
    t = trust()
    assert t.weight("founder") == t.weight("elder") == 1.0  # joined within a day of the first
    assert t.weight("old") == t.weight("new") == 0.0
    assert t.trusted("founder", NOW) and not t.trusted("old", NOW)


def test_a_member_the_council_vouches_for_starts_at_full_weight() -> None:
    assert trust(vouched=("new",)).trusted("new", NOW)


def test_probationers_corroborating_each_other_earn_nothing() -> None:
    t = trust()
    for _ in range(50):
        t.corroborated(["new", "new2"])
    assert t.weight("new") == t.weight("new2") == 0.0


def test_corroboration_by_a_trusted_member_earns_its_weight() -> None:
    t = trust(earn=10.0)
    t.corroborated(["founder", "old"])
    t.corroborated(["founder", "old", "new"])
    assert t.standing("old").credit == 2.0 and t.standing("old").corroborated == 2
    assert t.weight("old") == 0.2
    assert t.trusted("old", NOW)  # joined 10 days ago: past the day of probation


def test_a_newcomer_stays_on_probation_for_its_first_day_whatever_its_credit() -> None:
    t = trust(earn=10.0)
    for _ in range(10):
        t.corroborated(["founder", "new"])
    assert t.weight("new") == 1.0
    assert not t.trusted("new", NOW + 3600)
    assert "a member for 1.0h of 24h" in (t.why_not("new", NOW + 3600) or "")
    assert t.trusted("new", NOW + DAY)


def test_lifted_decisions_and_upheld_disputes_take_weight_away() -> None:
    t = trust(earn=10.0, lift_penalty=3.0, dispute_penalty=4.0)
    for _ in range(8):
        t.corroborated(["founder", "old"])
    t.penalise(["old"], "lift")
    assert t.weight("old") == 0.5
    t.penalise(["old"], "dispute")
    assert t.weight("old") == 0.1 and not t.trusted("old", NOW)
    t.penalise(["founder"], "dispute")
    t.penalise(["founder"], "dispute")
    t.penalise(["founder"], "dispute")
    assert t.weight("founder") < 1.0  # founders answer for their decisions too


def test_quarantine_zeroes_weight_and_counts_for_nothing_until_released() -> None:
    t = trust()
    assert t.apply(TrustEvent("quarantine", "founder", NOW, "reported canary 198.51.100.7"))
    assert not t.apply(TrustEvent("quarantine", "founder", NOW + 1, "again"))
    assert t.weight("founder") == 0.0 and not t.counts("founder")
    assert "quarantined (reported canary 198.51.100.7)" in (t.why_not("founder", NOW) or "")
    t.corroborated(["founder", "old"])
    assert t.standing("old").credit == 0.0  # a quarantined member corroborates nothing
    assert t.apply(TrustEvent("release", "founder", NOW + 2))
    assert not t.apply(TrustEvent("release", "founder", NOW + 3))
    assert t.trusted("founder", NOW)


def test_a_member_not_ready_does_not_count() -> None:
    t = trust()
    t.not_ready = frozenset({"founder"})
    assert not t.counts("founder") and not t.trusted("founder", NOW)
    assert "not ready" in (t.why_not("founder", NOW) or "")
    assert t.support(["founder", "elder"]) == 1.0


def test_with_trust_off_everyone_weighs_fully() -> None:
    t = trust(enabled=False)
    t.apply(TrustEvent("quarantine", "new", NOW))
    assert t.weight("new") == 1.0 and t.trusted("new", NOW) and t.why_not("new", NOW) is None


def test_without_membership_every_member_is_a_founder() -> None:
    assert Trust(TrustConfig()).trusted("anyone", NOW)


def test_trust_events_round_trip_and_an_unreadable_body_is_skipped() -> None:
    event = TrustEvent("quarantine", "m", NOW, "why")
    assert decode_event(encode_event(event)) == event
    assert decode_event(b'{"act":"promote","member":"m","at":1}') is None
    assert decode_event(b"\xff") is None


def test_a_member_who_joined_since_the_last_rebuild_is_judged_on_its_join_time() -> None:
    t = trust()
    assert not t.founder("late-founder")
    t.rejoin({"founder": NOW - 30 * DAY, "late-founder": NOW - 30 * DAY + 60})
    assert t.founder("late-founder") and t.weight("late-founder") == 1.0


def test_the_quarantines_among_journal_entries_are_found_for_the_log() -> None:
    from shieldwall.hub.ledger.storage import JournalEntry
    from shieldwall.hub.trust import quarantines

    caught = TrustEvent("quarantine", "m", NOW, "reported canary 198.51.100.7")
    entries = [JournalEntry("trust", "m", NOW, encode_event(caught)),
               JournalEntry("trust", "n", NOW, encode_event(TrustEvent("release", "n", NOW))),
               JournalEntry("readiness", "m", NOW, b"{}")]
    assert quarantines(entries) == [caught]
