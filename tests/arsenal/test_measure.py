"""Measuring a rule from a real SQLite ledger: sightings, signals, decisions and disputes."""

from __future__ import annotations

from pathlib import Path

from shieldwall.addresses import Labelled, Ranges, parse_network
from shieldwall.arsenal.figures import Sighting, Usage
from shieldwall.arsenal.measure import DISPUTE, measure, sighting_entries
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import DecisionRecord, JournalEntry, WriteGroup

R = "quick@1"


async def test_figures_come_from_the_journal_the_decisions_and_the_disputes(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    await ledger.open(create=True)
    try:
        sightings = [Sighting(R, "quick", "45.33.1.1", 100.0, "live"),
                     Sighting(R, "quick", "45.33.2.2", 200.0, "shadow")]
        await ledger.journal_append(sighting_entries("m1", sightings, [Usage(R, 1000, 0.002)], 300.0))
        await ledger.journal_append(sighting_entries("m2", sightings[:1], [], 300.0))
        await ledger.write(WriteGroup(decisions=[
            DecisionRecord("block", "45.33.1.1", 9000.0, "quick", "m1,m2", 150.0, rule=R),
            DecisionRecord("lift", "45.33.1.1", 400.0, "quick", "operator", 400.0),
        ]))
        await ledger.journal_append([JournalEntry(DISPUTE, "45.33.1.1", 350.0, b"{}"),
                                     JournalEntry(DISPUTE, "45.33.2.2", 350.0, b"{}")])  # never blocked
        protections = Ranges().with_entries([Labelled(parse_network("45.33.2.0/24"), "allowlist")])

        f = await measure(ledger, R, start=0.0, end=1000.0,
                          protected=lambda t: protections.protecting(parse_network(t)))
    finally:
        await ledger.close()
    assert (f.detections_live, f.detections_shadow, f.targets, f.members) == (2, 1, 2, 2)
    assert (f.corroborated, f.protected_hits, f.lifted, f.disputes) == (1, 1, 1, 1)
    assert f.cpu_per_million == 2.0
