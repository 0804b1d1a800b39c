"""Rules of the hub's pure intake: what it writes and answers for a group of envelopes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shieldwall.errors import SignalError
from shieldwall.hub.intake import Intake, storable
from shieldwall.hub.policy import Policy, load_policy
from shieldwall.hub.protections import Protections
from shieldwall.signals.envelope import Ack, OpenedEnvelope, open_envelope, seal_envelope
from shieldwall.signals.keys import MemberKey, key_id_of, new_seed, public_key_of
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
SEEDS = {name: new_seed() for name in ("alice", "bob", "mallory")}
KEYS = {
    name: MemberKey(name, key_id_of(public_key_of(seed)), public_key_of(seed))
    for name, seed in SEEDS.items()
}


def envelope(member: str, seq: int, *targets: str, scenario: str = "ssh-bruteforce",
             ts: float = NOW, evidence: tuple[str, ...] = ()) -> OpenedEnvelope:
    signals = [Signal(kind="detection", target=t, scenario=scenario, evidence=evidence)
               for t in targets]
    raw = seal_envelope(SEEDS[member], KEYS[member].key_id, seq, ts, signals)
    return open_envelope(raw, lambda _k: KEYS[member], ts)


def unsigned(member: str, seq: int, targets: list[str], scenario: str, ts: float,
             evidence: tuple[str, ...]) -> OpenedEnvelope:
    """An opened envelope as the intake receives it (the signature was checked before)."""
    signals = tuple(Signal(kind="detection", target=t, scenario=scenario, evidence=evidence)
                    for t in targets)
    return OpenedEnvelope(member, KEYS[member].key_id, seq, ts, signals, f"{member}-{seq}")


def intake(**kwargs: object) -> Intake:
    return Intake(Policy(load_policy(), Protections([])), {}, **kwargs)  # type: ignore[arg-type]


def test_an_applied_envelope_writes_its_batch_signals_and_decisions() -> None:
    step = intake().take([envelope("alice", 1, "45.13.7.1", "45.13.7.2")], {}, NOW)
    (ack,) = step.answers
    assert isinstance(ack, Ack) and (ack.status, ack.decisions) == ("applied", (0, 1))
    assert [(b.member, b.seq) for b in step.group.batches] == [("alice", 1)]
    assert [s.outcome for s in step.group.signals] == ["decided", "decided"]
    assert [d.target for d in step.group.decisions] == ["45.13.7.1", "45.13.7.2"]


def test_a_policy_outcome_is_a_typed_kind_with_its_detail_apart() -> None:
    step = intake().take([envelope("alice", 1, "45.13.7.1", scenario="made-up")], {}, NOW)
    (record,) = step.group.signals
    assert record.outcome == "quorum" and record.note.startswith("1/3")


def test_a_retry_in_the_same_group_is_a_duplicate_and_written_once() -> None:
    first = envelope("alice", 5, "45.13.7.1")
    step = intake().take([first, first], {}, NOW)
    assert [a.status for a in step.answers if isinstance(a, Ack)] == ["applied", "duplicate"]
    assert len(step.group.batches) == 1


def test_a_retry_of_a_durable_batch_is_recognised_by_the_ledgers_digest() -> None:
    old = envelope("alice", 3, "45.13.7.1")
    i = Intake(Policy(load_policy(), Protections([])), {"alice": 3})
    assert i.needs_digest(old)
    (answer,) = i.take([old], {("alice", 3): old.digest}, NOW).answers
    assert isinstance(answer, Ack) and answer.status == "duplicate"


def test_an_older_sequence_number_is_replayed_and_counted_against_the_member() -> None:
    i = Intake(Policy(load_policy(), Protections([])), {"alice": 9})
    step = i.take([envelope("alice", 8, "45.13.7.1")], {}, NOW)
    (answer,) = step.answers
    assert isinstance(answer, SignalError) and answer.reason == "replayed"
    assert step.group.rejected == {"alice": 1} and not step.group.batches


def test_a_stale_envelope_is_refused_after_the_sequence_check() -> None:
    step = intake().take([envelope("alice", 1, "45.13.7.1", ts=NOW - 3600)], {}, NOW)
    (answer,) = step.answers
    assert isinstance(answer, SignalError) and answer.reason == "stale"


def test_a_member_over_its_hourly_quota_gets_quota_and_nothing_is_applied() -> None:
    i = intake(signals_per_hour=3)
    first = i.take([envelope("alice", 1, "45.13.7.1", "45.13.7.2")], {}, NOW)
    over = i.take([envelope("alice", 2, "45.13.7.3", "45.13.7.4")], {}, NOW + 1)
    other = i.take([envelope("bob", 1, "45.13.7.5", "45.13.7.6")], {}, NOW + 1)
    later = i.take([envelope("alice", 2, "45.13.7.3", "45.13.7.4", ts=NOW + 3601)], {},
                   NOW + 3601)
    assert isinstance(first.answers[0], Ack)
    assert i.last_seq["alice"] == 2  # applied only once the window slid
    (refused,) = over.answers
    assert isinstance(refused, SignalError) and refused.reason == "quota"
    assert not over.group.batches and not over.group.rejected
    assert isinstance(other.answers[0], Ack)  # one member's quota is its own
    assert isinstance(later.answers[0], Ack)  # the window slides


def test_an_unstorable_value_is_refused_before_it_reaches_a_group() -> None:
    good = envelope("alice", 1, "45.13.7.1")
    poison = OpenedEnvelope("mallory", KEYS["mallory"].key_id, 2**63, NOW,
                            good.signals, good.digest, good.targets)
    assert storable(poison) == "seq is out of range"
    step = intake().take([poison, envelope("bob", 1, "45.13.7.2")], {}, NOW)
    assert isinstance(step.answers[0], SignalError) and step.answers[0].reason == "malformed"
    assert isinstance(step.answers[1], Ack)
    assert [b.member for b in step.group.batches] == ["bob"]


def test_a_failed_write_forgets_the_unsettled_batches() -> None:
    i = intake()
    step = i.take([envelope("alice", 1, "45.13.7.1")], {}, NOW)
    assert ("alice", 1) in i.unsettled
    i.failed(step)
    assert not i.unsettled


def test_cursors_and_rejections_ride_with_the_next_group() -> None:
    i = intake()
    i.note_cursor("alice", 42, NOW)
    i.note_rejection("bob")
    step = i.take([], {}, NOW)
    assert step.group.cursors == {"alice": (42, NOW)} and step.group.rejected == {"bob": 1}
    assert not i.take([], {}, NOW).group


@pytest.mark.parametrize("scenario", ["unknown-thing", "http-probing", "ssh-bruteforce"])
def test_thirty_days_of_traffic_leave_the_memory_flat(scenario: str) -> None:
    # A fake clock: 30 simulated days, every member reporting three fresh targets
    # every ten minutes, with the largest evidence the wire allows. The memory must
    # follow what is live in the windows (quorum 1 h, offenses 1 day here), never
    # history: the same hour of day 5 and of day 30 hold exactly as much.
    config = replace(load_policy(), offense_memory=86400.0, max_duration=86400.0)
    i = Intake(Policy(config, Protections([])), {}, signals_per_hour=10**9)
    seq = dict.fromkeys(SEEDS, 0)
    evidence = ("x" * 2000,) * 20
    seen: dict[int, dict[str, int]] = {}
    for tick in range(30 * 24 * 6):
        now = NOW + tick * 600.0
        batch = []
        for m, member in enumerate(SEEDS):
            seq[member] += 1
            targets = [f"45.{(tick // 250) % 250}.{tick % 250}.{m * 3 + n}" for n in range(3)]
            batch.append(unsigned(member, seq[member], targets, scenario, now, evidence))
        i.settled(i.take(batch, {}, now))
        if tick % 6 == 0:
            i.sweep(now)
        if tick in (5 * 144, 29 * 144):
            seen[tick // 144] = i.policy.sizes()
    assert seen[5] == seen[29], seen
    assert seen[29]["sightings"] <= 3 * 3 * 7  # three members' last hour of reports
    assert seen[29]["offenses"] <= 3 * 3 * 145  # one day of blocks, at most
    assert len(i.volume) == 3 and not i.unsettled
    for contributions in i.policy.sightings.values():
        for c in contributions.values():
            assert len(c.sample) <= 3 and all(len(line) <= 512 for line in c.sample)


def test_a_member_flooding_unknown_scenarios_is_capped_in_live_sightings() -> None:
    i = Intake(Policy(load_policy(), Protections([]), max_sightings=100), {})
    for seq in range(1, 6):
        targets = [f"45.13.{seq}.{n}" for n in range(50)]
        i.take([envelope("mallory", seq, *targets, scenario="made-up")], {}, NOW + seq)
    assert i.policy.sighted["mallory"] == 100
    step = i.take([envelope("mallory", 6, "45.14.0.1", scenario="made-up")], {}, NOW + 6)
    assert [s.outcome for s in step.group.signals] == ["sightings-full"]
    other = i.take([envelope("bob", 1, "45.14.0.1", scenario="made-up")], {}, NOW + 6)
    assert [s.outcome for s in other.group.signals] == ["quorum"]  # others unaffected


def ban(member: str, seq: int, target: str, scenario: str = "manual") -> OpenedEnvelope:
    raw = seal_envelope(SEEDS[member], KEYS[member].key_id, seq, NOW,
                        [Signal(kind="ban", target=target, scenario=scenario, duration=7200.0)])
    return open_envelope(raw, lambda _k: KEYS[member], NOW)


def test_an_operator_keys_ban_decides_at_once_as_the_operator() -> None:
    i = Intake(Policy(load_policy(), Protections([])), {}, operators=frozenset({"alice"}))
    step = i.take([ban("alice", 1, "45.13.0.0/16", "http-probing")], {}, NOW)
    (decision,) = step.group.decisions
    assert (decision.origin, decision.until) == ("operator", NOW + 7200.0)


def test_a_members_ban_waits_for_its_scenarios_quorum() -> None:
    step = intake().take([ban("bob", 1, "45.13.7.1", "made-up")], {}, NOW)
    assert not step.group.decisions and step.group.signals[0].outcome == "quorum"
    # a listed quorum scenario: one trusted member's ban blocks only provisionally
    step = intake().take([ban("bob", 1, "45.13.7.1", "http-probing")], {}, NOW)
    (decision,) = step.group.decisions
    assert decision.until == NOW + 900 and "provisional" in step.group.signals[0].note


def test_a_burst_is_capped_per_minute_but_any_envelope_size_gets_through() -> None:
    i = intake(signals_per_hour=3000)  # a burst of 100 a minute
    big = i.take([envelope("alice", 1, *[f"45.13.7.{n}" for n in range(150)])], {}, NOW)
    assert isinstance(big.answers[0], Ack)  # larger than the burst, alone: accepted
    (refused,) = i.take([envelope("alice", 2, "45.13.8.1")], {}, NOW + 5).answers
    assert isinstance(refused, SignalError) and refused.reason == "quota"
    assert "last minute" in str(refused)
    assert isinstance(i.take([envelope("alice", 2, "45.13.8.1", ts=NOW + 75)], {},
                             NOW + 75).answers[0], Ack)


def test_a_decision_names_the_rule_version_its_deciding_signal_named() -> None:
    signal = Signal(kind="detection", target="45.13.7.1", scenario="ssh-bruteforce",
                    rule="ssh-bruteforce@0123456789ab")
    raw = seal_envelope(SEEDS["alice"], KEYS["alice"].key_id, 1, NOW, [signal])
    step = intake().take([open_envelope(raw, lambda _k: KEYS["alice"], NOW)], {}, NOW)
    assert [d.rule for d in step.group.decisions] == ["ssh-bruteforce@0123456789ab"]
    assert b'"rule":"ssh-bruteforce@0123456789ab"' in step.group.decisions[0].evidence
