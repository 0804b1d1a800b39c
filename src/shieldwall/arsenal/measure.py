"""The hub's measurement of a rule version: ledger rows in, :class:`Figures` out.

The rows are the arsenal's own journal records (members' sightings and CPU usage,
disputes) and the ledger's signals and decisions on the rule's targets; the
arithmetic is :func:`~shieldwall.arsenal.figures.figures`. Anyone with the ledger
gets the same figures, hence the same report hash.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from shieldwall.addresses import Labelled, Ranges, target_network
from shieldwall.arsenal.figures import Figures, OtherReport, Sighting, Usage, figures
from shieldwall.arsenal.gates import decode_gates, harm
from shieldwall.arsenal.repository import GATES, Repository, custom_of
from shieldwall.arsenal.status import enforces
from shieldwall.errors import AddressError
from shieldwall.hub.disputes import JOURNAL_KIND as DISPUTE_KIND
from shieldwall.hub.ledger.storage import JournalEntry, Ledger

SIGHTING = "arsenal.sighting"
USAGE = "arsenal.usage"
DISPUTE = DISPUTE_KIND
_sighting = msgspec.json.Decoder(Sighting)
_usage = msgspec.json.Decoder(Usage)
PAGE = 10_000


async def _all(ledger: Ledger, kind: str, key: str | None = None) -> list[bytes]:
    out: list[bytes] = []
    after = 0
    while True:
        page = await ledger.journal(kind, key=key, after=after, limit=PAGE)
        out += [e.body for e in page]
        if len(page) < PAGE:
            return out
        after = page[-1].id


def sighting_entries(member: str, sightings: list[Sighting], usage: list[Usage],
                     now: float) -> list[JournalEntry]:
    """Journal entries for what ``member`` reported (the hub names the member, not the body)."""
    entries = [JournalEntry(SIGHTING, s.rule, now,
                            msgspec.json.encode(msgspec.structs.replace(s, member=member)))
               for s in sightings]
    entries += [JournalEntry(USAGE, u.rule, now,
                             msgspec.json.encode(msgspec.structs.replace(u, member=member)))
                for u in usage]
    return entries


async def rules_sighted(ledger: Ledger) -> list[str]:
    """Every rule version members reported a sighting of."""
    return sorted({_sighting.decode(b).rule for b in await _all(ledger, SIGHTING)})


async def protected_of(ledger: Ledger, protections: Ranges) -> Callable[[str], str | None]:
    """Whether a target is protected: the hub's allowlists and never-block lists (``protections``)
    or a member's owned ranges, with the label that protects it."""
    members = await ledger.members()
    owned = Ranges().with_entries(
        Labelled(target_network(o), f"owned by {m.name}") for m in members for o in m.owns)

    def protected(target: str) -> str | None:
        try:
            network = target_network(target)
        except AddressError:
            return None
        return protections.protecting(network) or owned.protecting(network)

    return protected


async def demote_harmful(repo: Repository, ledger: Ledger, protections: Ranges, hub_seed: bytes,
                         now: float, window: float = 30 * 86400.0) -> list[str]:
    """The charter rule: put every enforcing rule whose harm passed ``gates.demote`` in shadow.

    A demotion holds for that rule version (a fixed rule comes back as a new version, and
    through the gates again). Returns the rules demoted now.
    """
    gates = decode_gates(repo.target_bytes(GATES))
    already = set(repo.demoted())
    targets = repo.targets().signed.targets
    protected = await protected_of(ledger, protections)
    harmful = []
    for path in repo.index():
        rule = path.removeprefix("rules/").removesuffix(".toml")
        if rule in already or not enforces(str(custom_of(targets[path]).get("status", ""))):
            continue
        measured = await measure(ledger, rule, start=now - window, end=now, protected=protected)
        if harm(measured, gates):
            harmful.append(rule)
    if harmful:
        repo.demote([*already, *harmful], hub_seed, now)
    return harmful


async def measure(ledger: Ledger, rule: str, *, start: float, end: float,
                  protected: Callable[[str], str | None] = lambda _t: None) -> Figures:
    """The figures of ``rule`` over ``[start, end)`` from the ledger."""
    sightings = [_sighting.decode(b) for b in await _all(ledger, SIGHTING)]
    targets = sorted({s.target for s in sightings if s.rule == rule})
    others = [
        OtherReport(s.member, s.signal.scenario, s.signal.target, s.signal.last_seen or s.received)
        for s in (await ledger.signals_for(targets, 1_000_000) if targets else [])
    ]
    decisions = [d.decision for d in (await ledger.decisions_for(targets) if targets else [])]
    usage = [_usage.decode(b) for b in await _all(ledger, USAGE, rule)]
    # Members' disputes (hub/disputes.py) are kept by target: those of targets this rule blocked.
    blocked = sorted({d.target for d in decisions if d.action == "block" and d.rule == rule})
    disputes = sum([len(await _all(ledger, DISPUTE, target)) for target in blocked])
    return figures(rule, sightings, others, decisions, start=start, end=end, protected=protected,
                   disputes=disputes, usage=usage)
