"""The trust simulation's world: members, attackers, liars, a newcomer's burst. Pure.

Attackers are drawn from the IPsum feed (``shared/data/ipsum/ipsum.txt``): each
entry is a real address and the number of public blocklists (of about
:data:`LISTS` = 30) that carry it. We read that count as how widely the address
attacks: every member is one more observer like a list, and sees the attacker
with probability ``count / LISTS`` (so 74 % of attackers, on one list, reach
each member with 3.3 %, while a count-10 scanner reaches a third of them). An
attacker's campaign starts at a random time and each member it reaches detects
it an exponential delay later (mean :data:`SPREAD` seconds: "most hit several
members within minutes"). IPsum has no times; the spread is our assumption.

The alliance runs a warm-up with its honest members first; then colluders join
(or, as turncoats, were members from the start). Colluders are real servers
too: they report the attackers they see, truthfully (that is how a liar earns
trust), and after the warm-up they also lie, ``LIES_PER_HOUR`` times an hour
each: half their lies name addresses of a competitor's customers (a shared
list, so they echo each other's claims), a third name random benign addresses
(where the hub's canaries hide among :data:`BENIGN_POOL` benign ones), the rest
name members' own (protected) addresses. A newcomer joins late and reports 10,000 random benign addresses in
one minute.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

LISTS = 30
SPREAD = 90.0
LIES_PER_HOUR = 12.0
BENIGN_POOL = 20_000
CUSTOMERS = 200
BURST = 10_000
HOUR = 3600.0
#: Scenarios honest members detect, and their share: most need one member's word.
SCENARIOS = (("ssh-bruteforce", 0.8), ("http-probing", 0.2))


@dataclass(frozen=True, slots=True)
class Report:
    """One signal the simulation sends: ``member`` reports ``target`` at ``at``."""

    at: float
    member: str
    target: str
    scenario: str
    #: "attack", "lie", "burst"
    kind: str


@dataclass(frozen=True, slots=True)
class Attacker:
    """A true attacker and the honest detections of it."""

    address: str
    count: int
    scenario: str
    #: (time, member) of every detection, honest and colluding, in time order.
    hits: tuple[tuple[float, str], ...]


@dataclass(slots=True)
class World:
    """Everything one simulated run sends to the policy, and the truth about it."""

    members: list[str]
    colluders: frozenset[str]
    founders: frozenset[str]
    newcomer: str
    owned: dict[str, str]
    canaries: list[str]
    benign: list[str]
    customers: list[str]
    attackers: list[Attacker]
    reports: list[Report] = field(default_factory=list)
    #: member -> seconds after the start at which it joined
    joined: dict[str, float] = field(default_factory=dict)
    warmup: float = 0.0


#: IPsum's entries by count (snapshot of 22 Aug 2026, see shared/data/ipsum/PROVENANCE.md):
#: used when the file itself is not at hand, with stand-in addresses.
IPSUM_COUNTS = {1: 89_657, 2: 16_556, 3: 8_863, 4: 3_941, 5: 1_095, 6: 248, 7: 47, 8: 14,
                9: 6, 10: 3}


def ipsum_entries(path: Path | None) -> list[tuple[str, int]]:
    """IPsum's (address, count) entries from ``path``, or stand-ins with its counts."""
    if path is not None and path.exists():
        return read_ipsum(path)
    entries: list[tuple[str, int]] = []
    for count, many in IPSUM_COUNTS.items():
        base = (100 << 24) + len(entries)  # 100.0.0.0/8 onwards: public, clear of _public's
        entries += [(str(IPv4Address(base + i)), count) for i in range(many)]
    return entries


def read_ipsum(path: Path) -> list[tuple[str, int]]:
    """(address, count) for every IPsum entry."""
    entries: list[tuple[str, int]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        address, count = line.split()
        entries.append((address, int(count)))
    return entries


def _public(rng: random.Random, taken: set[str]) -> str:
    # 23.0.0.0/8 .. 99.0.0.0/8 hold no reserved space; keep clear of IPsum's addresses.
    while True:
        text = str(IPv4Address(rng.randrange(23 << 24, 100 << 24)))
        if text not in taken:
            taken.add(text)
            return text


def build_world(
    ipsum: list[tuple[str, int]], n: int, share: float, seed: int, *, warmup: float = 24 * HOUR,
    hours: float = 12 * HOUR, attackers_per_hour: float = 100.0, late_honest: float = 0.2,
    turncoats: bool = False, canaries: int = 400,
) -> World:
    """One run's world: ``n`` members of which ``share`` collude.

    The alliance runs ``warmup`` seconds with its honest members (a tenth of them,
    at least 3, are its founders); then the colluders and ``late_honest`` of the
    honest members join, and ``hours`` more seconds are measured. With
    ``turncoats`` the colluders are members from the start who report only
    truthfully until the warm-up ends.
    """
    rng = random.Random(seed)
    names = [f"m{i:03d}" for i in range(n)]
    rng.shuffle(names)
    colluders = frozenset(names[: round(share * n)])
    honest = [m for m in names if m not in colluders]
    founding = frozenset(honest[: max(3, n // 10)])
    late = frozenset(honest[len(founding):][: round(late_honest * len(honest))])
    joined = {m: (warmup if m in late or (m in colluders and not turncoats) else 0.0)
              for m in names}
    taken = {a for a, _ in ipsum}
    owned = {m: _public(rng, taken) for m in names}
    benign = [_public(rng, taken) for _ in range(BENIGN_POOL)]
    customers = [_public(rng, taken) for _ in range(CUSTOMERS)]
    world = World(sorted(names), colluders, founding, "newcomer", owned, benign[:canaries],
                  benign, customers, [], joined=joined, warmup=warmup)
    end = warmup + hours
    for _ in range(int(attackers_per_hour * end / HOUR)):
        address, count = ipsum[rng.randrange(len(ipsum))]
        start = rng.uniform(0, end)
        scenario = rng.choices([s for s, _ in SCENARIOS], [w for _, w in SCENARIOS])[0]
        p = min(1.0, count / LISTS)
        hits = sorted(
            (t, m) for t, m in ((start + rng.expovariate(1 / SPREAD), m) for m in names
                                if rng.random() < p)
            if t >= joined[m]
        )
        world.attackers.append(Attacker(address, count, scenario, tuple(hits)))
        world.reports += [Report(t, m, address, scenario, "attack") for t, m in hits]
    for member in sorted(colluders):
        t = warmup + rng.expovariate(LIES_PER_HOUR / HOUR)
        while t < end:
            roll = rng.random()
            if roll < 0.5:
                target = customers[rng.randrange(len(customers))]
            elif roll < 0.85:
                target = benign[rng.randrange(len(benign))]
            else:
                target = owned[honest[rng.randrange(len(honest))]]
            world.reports.append(Report(t, member, target, "ssh-bruteforce", "lie"))
            t += rng.expovariate(LIES_PER_HOUR / HOUR)
    burst_at = end - HOUR
    world.joined[world.newcomer] = burst_at - HOUR
    burst = [_public(rng, taken) for _ in range(BURST)]
    world.reports += [
        Report(burst_at + 60.0 * i / len(burst), world.newcomer, target, "ssh-bruteforce", "burst")
        for i, target in enumerate(burst)
    ]
    world.reports.sort(key=lambda r: r.at)
    return world
