"""How long the activity page's real-decision propagation figures take to read and
compute: a SQLite ledger with N members, D real block decisions (each with evidence),
every member's applied reports and readiness transitions. Prints the cold read (every
decision's evidence read and measured once) and the warm one (measured decisions
remembered: the records are still read and decoded).

Run: python3 bench/propagation_page.py [--members 100] [--decisions 200]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import msgspec

from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import (
    DecisionRecord,
    InviteRecord,
    JournalEntry,
    MemberRecord,
    WriteGroup,
)
from shieldwall.hub.policy_values import Contribution
from shieldwall.hub.roster import JOURNAL_KIND, Transition
from shieldwall.readiness.applied import APPLIED_KIND, AppliedRecord, encode_record
from shieldwall.ui.propagation import Remembered, real_figures


async def main(members: int, decisions: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = SQLiteLedger(Path(folder) / "ledger.db")
        await ledger.open(create=True)
        t0 = 1.7e9
        names = [f"m{i:04d}" for i in range(members)]
        for name in names:
            await ledger.add_invite(InviteRecord(f"h-{name}", name, 0.0, 2e9))
            await ledger.redeem_invite(f"h-{name}", MemberRecord(
                name, f"k-{name}", b"\0" * 32, (), 1.0), 1.0)
        group = WriteGroup(decisions=[DecisionRecord(
            "block", f"45.{i // 250}.{i % 250}.1", 2e9, "ssh-bruteforce", names[i % members],
            t0 + i, evidence=msgspec.json.encode([Contribution(
                names[i % members], "ssh-bruteforce", 5, t0 + i - 3, t0 + i - 0.5, t0 + i - 0.2)]),
        ) for i in range(decisions)])
        await ledger.write(group)
        journal = [JournalEntry(JOURNAL_KIND, n, 2.0, msgspec.json.encode(
            Transition(n, 2.0, "unknown", "ok", "all ok"))) for n in names]
        journal += [JournalEntry(APPLIED_KIND, n, t0 + decisions, encode_record(AppliedRecord(
            n, 0.0, t0 + decisions, tuple((seq, t0 + seq + 0.05) for seq in range(1, decisions + 1))
        ))) for n in names]
        await ledger.journal_append(journal)
        recent = await ledger.decisions_before(decisions + 1, 20_000)
        memo = Remembered()
        start = time.perf_counter()
        cold = await real_figures(ledger, recent, memo, {}, t0 + decisions)
        cold_s = time.perf_counter() - start
        start = time.perf_counter()
        warm = await real_figures(ledger, recent, memo, {}, t0 + decisions)
        warm_s = time.perf_counter() - start
        await ledger.close()
    assert len(cold.latencies) == len(warm.latencies) == min(decisions, 200)
    print(f"members {members}, decisions {decisions}: cold {cold_s * 1000:.0f} ms,"
          f" warm {warm_s * 1000:.0f} ms ({len(warm.latencies)} measured)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--decisions", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.decisions))
