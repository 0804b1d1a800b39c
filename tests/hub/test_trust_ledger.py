"""Trust survives the hub: a quarantine is journalled with its signal, and a policy rebuilt
from the real SQLite ledger knows it, together with the credit its decisions earned."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from shieldwall.hub.canaries import parse_canaries
from shieldwall.hub.intake import Intake
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import InviteRecord, JournalEntry, MemberRecord
from shieldwall.hub.members import secret_hash
from shieldwall.hub.policy import load_policy
from shieldwall.hub.policy_view import build_policy
from shieldwall.hub.protections import Protections
from shieldwall.hub.trust import JOURNAL_KIND, TrustEvent, decode_event, encode_event
from shieldwall.signals.envelope import OpenedEnvelope
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of
from shieldwall.signals.signal import Signal

NOW = 1_764_380_000.0
DAY = 86400.0
CANARY = "198.51.100.77"


async def member(ledger: SQLiteLedger, name: str, joined: float) -> None:
    key = public_key_of(new_seed())
    await ledger.add_invite(InviteRecord(secret_hash(name), name, joined, joined + 60))
    await ledger.redeem_invite(
        secret_hash(name), MemberRecord(name, key_id_of(key), key, (), joined), joined)


def envelope(name: str, seq: int, *targets: str) -> OpenedEnvelope:
    signals = tuple(Signal(kind="detection", target=t, scenario="ssh-bruteforce")
                    for t in targets)
    return OpenedEnvelope(name, "k-" + name, seq, NOW, signals, f"{name}-{seq}")


async def test_a_canary_report_is_journalled_and_the_rebuilt_policy_keeps_the_quarantine(
    tmp_path: Path,
) -> None:
    config = replace(load_policy(), allow_reserved=True, canaries=parse_canaries(CANARY))
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    await ledger.open(create=True)
    try:
        await member(ledger, "founder", NOW - 30 * DAY)
        await member(ledger, "old", NOW - 10 * DAY)
        await member(ledger, "liar", NOW - 60)
        policy = await build_policy(ledger, config, Protections([]), NOW)
        assert not policy.trust.trusted("old", NOW) and policy.trust.trusted("founder", NOW)
        intake = Intake(policy, {})
        step = intake.take([envelope("old", 1, "45.13.7.1", "45.13.7.2"),
                            envelope("founder", 1, "45.13.7.1", "45.13.7.2"),
                            envelope("liar", 1, CANARY, "45.13.7.3")], {}, NOW)
        assert [s.outcome for s in step.group.signals] == [
            "probation", "probation", "decided", "decided", "canary", "quarantined"]
        [entry] = step.group.journal
        assert (entry.kind, entry.key) == (JOURNAL_KIND, "liar")
        await ledger.write(step.group)

        rebuilt = await build_policy(ledger, config, Protections([]), NOW + 10)
        assert rebuilt.trust.standing("liar").quarantined == f"reported canary {CANARY}"
        # two blocks a founder corroborated (after its first, provisional, cost it 0.1)
        assert round(rebuilt.trust.standing("old").credit, 6) == 1.99
        assert rebuilt.trust.weight("old") == policy.trust.weight("old")

        release = TrustEvent("release", "liar", NOW + 20, "council act 7")
        await ledger.journal_append(
            [JournalEntry(JOURNAL_KIND, "liar", release.at, encode_event(release))])
        again = await build_policy(ledger, config, Protections([]), NOW + 30)
        assert not again.trust.standing("liar").quarantined
        [stored] = await ledger.journal(JOURNAL_KIND, key="liar", newest_first=True, limit=1)
        assert decode_event(stored.body) == release
    finally:
        await ledger.close()
