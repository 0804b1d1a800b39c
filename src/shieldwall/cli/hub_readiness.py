"""``shieldwall hub readiness``: the roster, from the readiness transitions in the ledger.

The serving hub journals every change of a member's state (silence included: it
sweeps once a second), so the ledger alone tells each member's state, since when,
why, and whether its reports count toward a quorum. Members never heard from are
listed as ``unknown`` (they count: their agents may predate heartbeats).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import click
import msgspec

from shieldwall.errors import EXIT_CHECK_FAILED, EXIT_OK
from shieldwall.hub.config import DEFAULT_HUB_DIR, load_hub_config
from shieldwall.hub.ledger.storage import Ledger
from shieldwall.hub.roster import JOURNAL_KIND, Entry, Transition, counts, restore
from shieldwall.readiness.verdict import ago

_PAGE = 1000


async def read_roster(ledger: Ledger) -> dict[str, Entry]:
    """Every active member's entry (``unknown`` when never heard from), by name."""
    decoder = msgspec.json.Decoder(Transition)
    transitions: list[Transition] = []
    after = 0
    while True:
        page = await ledger.journal(JOURNAL_KIND, after=after, limit=_PAGE)
        for stored in page:
            try:
                transitions.append(decoder.decode(stored.body))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        if len(page) < _PAGE:
            break
        after = page[-1].id
    roster = restore(transitions)
    out: dict[str, Entry] = {}
    for member in await ledger.members():
        if member.active:
            out[member.name] = roster.get(member.name) or Entry(member.name, "unknown",
                                                                  member.joined)
    return out


@click.command("readiness")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_HUB_DIR, show_default=True, help="The hub's state folder.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per member.")
def readiness(data_dir: Path, as_json: bool) -> None:
    """Each member's readiness: state, since when, why, and whether it counts
    toward a quorum now. Exits 0 when every member heard from is ok, 1 otherwise.

    \b
    Example:
      shieldwall hub readiness
      shieldwall hub readiness --json | jq 'select(.state != "ok")'
    """
    from shieldwall.hub.create import with_ledger

    config = load_hub_config(data_dir)
    roster = asyncio.run(with_ledger(config, read_roster))
    now = time.time()
    for name, entry in sorted(roster.items()):
        counted = counts(entry, now, config.readiness_grace)
        if as_json:
            click.echo(msgspec.json.encode({
                "member": name, "state": entry.state, "since": entry.since,
                "counts": counted, "reason": entry.reason,
                "checks": {c.code: c.state for c in entry.checks},
            }).decode())
        else:
            note = "" if counted else "  (not counted toward quorums)"
            click.echo(f"{name:<20} {entry.state:<9} for {ago(now - entry.since):<5}"
                       f" {entry.reason or 'no heartbeat yet'}{note}")
    if not roster and not as_json:
        click.echo("no members yet: `shieldwall hub invite`")
    bad = [e for e in roster.values() if e.state not in ("ok", "unknown")]
    sys.exit(EXIT_CHECK_FAILED if bad else EXIT_OK)
