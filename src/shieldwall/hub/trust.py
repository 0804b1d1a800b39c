"""Trust earned by track record: each member's weight, from what the ledger holds. Pure.

A member's weight is a number from 0 to 1: its net credit divided by ``earn``.

* Founders start at full weight: the members that joined within ``founders`` of
  the alliance's first member, and those the council vouches for (``vouched``).
  Everyone else starts at 0.
* Credit grows when a decision the member supported was corroborated: every
  supporter of a block gains the *other* supporters' weights (at most 1 per
  decision). A member nobody trusts yet corroborates nothing, so members on
  probation cannot raise each other: trust flows only from members who have it.
* Credit falls with each decision it supported that the operator lifted
  (``lift_penalty``) or that a dispute lifted (``dispute_penalty``).
* A member that reports a canary is quarantined: weight 0, its signals do not
  count, until the council or operator releases it.

Below ``trusted``, and for its first ``probation`` seconds whatever its weight,
a member is on probation: its word blocks on its own host (that is its
sovereignty) but alliance-wide only with a trusted member's corroboration.
Members the readiness roster says are not ready count for nothing while they
are not (:attr:`Trust.not_ready`, a pure input).

Trust is not banked: a member's net credit never rises above full weight, so a
member that turns after a long honest record has nothing stored to spend, and
every new penalty shows at once.

A block on one member's word alone is *provisional* (``solo_duration``): it is
extended to its full duration when another member whose word would decide
reports the address too, and until then it costs its maker ``solo_penalty``
(given back on corroboration) and takes one of its ``solo_open`` slots. So an
honest member's uncorroborated noise costs a little, and a member that turns
liar loses its weight within a few lies, each of which kept an address out for
minutes. A member on probation by tenure whose *record since the hub started*
(:attr:`Standing.hits` / :attr:`Standing.misses`: its reports a trusted member
later corroborated, and those that aged out alone) reaches ``vet_reports`` with
a precision of ``vet_precision`` is *vetted*: its word makes provisional blocks
too. That record is the hub's memory only: after a rebuild it starts again from
nothing, which only delays a newcomer, never lets one through.

Everything else is rebuilt from the ledger: credit and penalties from the
decisions (their evidence names the supporters), quarantine and release from the
journal (:data:`JOURNAL_KIND`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import msgspec

#: Journal kind of quarantine and release records (key: the member).
JOURNAL_KIND = "trust"


@dataclass(frozen=True, slots=True)
class TrustConfig:
    """The policy's ``[trust]`` table (see ``default_policy.toml``)."""

    enabled: bool = True
    #: Net credit at which a member reaches full weight.
    earn: float = 10.0
    #: Weight from which a member's word alone decides (below it: probation).
    trusted: float = 0.2
    lift_penalty: float = 3.0
    dispute_penalty: float = 3.0
    #: Members the council vouches for: they start at full weight.
    vouched: tuple[str, ...] = ()
    #: Members that joined within this many seconds of the first one are founders.
    founders: float = 86400.0
    #: A newcomer's word needs corroboration for at least this long after it joined.
    probation: float = 86400.0
    #: A trusted member's word alone decides a confirmed scenario; when False, every
    #: alliance-wide block needs two members (one trusted): the defence against trusted
    #: members turning, paid for by honest detections waiting for a second member.
    single_word: bool = True
    #: How long a block on one member's word lasts until another member corroborates it
    #: (0: as long as its scenario says, with no penalty: the behaviour before).
    solo_duration: float = 0.0
    #: Credit a provisional block costs its maker until it is corroborated.
    solo_penalty: float = 0.0
    #: Provisional blocks one member may hold open at once (times its weight, at least 1).
    solo_open: int = 10
    #: A trusted member's first report of a quorum scenario blocks provisionally too.
    solo_quorum: bool = False
    #: A newcomer's reports a trusted member corroborated before its word counts alone...
    vet_reports: int = 5
    #: ...and the share of its reports that must have been corroborated.
    vet_precision: float = 0.25
    #: ...and at most this many uncorroborated reports (aged out, or still open) per hour of
    #: its record (0: no limit): a liar's lies pile up here whatever its truths.
    vet_open: float = 0.0
    #: ...and only once it has been a member this long (its lies have had time to show).
    vet_after: float = 0.0


class TrustEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A journal record: a member quarantined (and why) or released."""

    act: Literal["quarantine", "release"]
    member: str
    at: float
    reason: str = ""


@dataclass(slots=True)
class Standing:
    """What the hub knows about one member's record."""

    credit: float = 0.0
    #: Decisions it supported that other members corroborated.
    corroborated: int = 0
    lifted: int = 0
    upheld: int = 0
    #: Provisional blocks it made that are not (yet) corroborated.
    solo: int = 0
    #: Since the hub started (not rebuilt): its reports a trusted member corroborated,
    #: and those that aged out uncorroborated.
    hits: int = 0
    misses: int = 0
    #: Why it is quarantined ("" = it is not), and since when.
    quarantined: str = ""
    since: float = 0.0


@dataclass(slots=True)
class Trust:
    """Every member's standing, and the weights that follow from it."""

    config: TrustConfig = field(default_factory=TrustConfig)
    #: Members whose reports do not count now (the readiness roster's "not ready").
    not_ready: frozenset[str] = frozenset()
    #: member -> when it joined. ``None``: membership unknown (a policy used on its
    #: own, as in the lab and unit tests), so every member counts as a founder.
    joined: Mapping[str, float] | None = None
    standings: dict[str, Standing] = field(default_factory=dict)
    #: member -> its live quorum sightings (the policy's count): not corroborated yet.
    pending: Mapping[str, int] = field(default_factory=dict)
    #: Since when the hits and misses are counted (the policy's rebuild).
    recorded_from: float = float("-inf")
    _founders: frozenset[str] | None = None

    def rejoin(self, joined: Mapping[str, float]) -> None:
        """Membership changed (a member joined or left): who joined when, again."""
        self.joined, self._founders = dict(joined), None

    def founder(self, member: str) -> bool:
        """Whether the member starts at full weight (vouched for, or a founder)."""
        if member in self.config.vouched or self.joined is None:
            return True
        if self._founders is None:
            first = min(self.joined.values(), default=0.0)
            self._founders = frozenset(
                m for m, at in self.joined.items() if at <= first + self.config.founders
            )
        return member in self._founders

    def standing(self, member: str) -> Standing:
        """The member's standing (a blank one for a member never seen)."""
        found = self.standings.get(member)
        return found if found is not None else Standing()

    def weight(self, member: str) -> float:
        """The member's weight now, 0 to 1 (1 for everyone when trust is off)."""
        if not self.config.enabled:
            return 1.0
        s = self.standings.get(member)
        if s is None:
            return 1.0 if self.founder(member) else 0.0
        if s.quarantined:
            return 0.0
        return min(1.0, max(0.0, (self._base(member) + s.credit) / self.config.earn))

    def _base(self, member: str) -> float:
        return self.config.earn if self.founder(member) else 0.0

    def _gain(self, member: str, amount: float) -> Standing:
        """Credit ``amount``, never above full weight (trust is not banked)."""
        s = self.standings.setdefault(member, Standing())
        s.credit = min(s.credit + amount, self.config.earn - self._base(member))
        return s

    def counts(self, member: str) -> bool:
        """Whether the member's reports count at all now."""
        if not self.config.enabled:
            return True
        return member not in self.not_ready and not self.standing(member).quarantined

    def trusted(self, member: str, now: float) -> bool:
        """Whether the member's word alone may decide (it counts and is off probation)."""
        if not self.config.enabled:
            return True
        if not self.counts(member) or self.weight(member) < self.config.trusted:
            return False
        return self.founder(member) or self._tenure(member, now) >= self.config.probation

    def _tenure(self, member: str, now: float) -> float:
        if self.joined is None:
            return float("inf")
        joined = self.joined.get(member)
        return 0.0 if joined is None else now - joined

    def why_not(self, member: str, now: float) -> str | None:
        """Why the member's report does not decide on its own, or ``None`` when it does."""
        if not self.config.enabled:
            return None
        s = self.standing(member)
        if s.quarantined:
            return f"member {member!r} is quarantined ({s.quarantined}): its signals do not count"
        if member in self.not_ready:
            return f"member {member!r} is not ready: its signals do not count until it is"
        w = self.weight(member)
        if w < self.config.trusted:
            record = f"; {self._record(member)}" if self.config.solo_duration > 0 else ""
            return (f"member {member!r} is on probation (weight {w:.2f} < {self.config.trusted:g}"
                    f"{record}): alliance-wide only with a trusted member's corroboration")
        tenure = self._tenure(member, now)
        if not self.founder(member) and tenure < self.config.probation:
            if self.vetted(member, now):
                return None
            return (f"member {member!r} is on probation (a member for {tenure / 3600:.1f}h of"
                    f" {self.config.probation / 3600:g}h; {self._record(member)}): alliance-wide"
                    " only with a trusted member's corroboration")
        return None

    def _record(self, member: str) -> str:
        c, s = self.config, self.standing(member)
        open_ = s.solo + self.pending.get(member, 0)
        most = f", at most {c.vet_open:g} not an hour" if c.vet_open else ""
        return (f"{s.hits} reports corroborated, {s.misses} not, {open_} open; its word counts"
                f" from {c.vet_reports} at {c.vet_precision:.0%}{most}")

    def vetted(self, member: str, now: float) -> bool:
        """Whether a member on probation by tenure has a record good enough for its word
        to make provisional blocks (see the module's docstring)."""
        if not self.config.enabled or self.config.solo_duration <= 0:
            return False
        s = self.standing(member)
        if not self.counts(member) or self.weight(member) < self.config.trusted:
            return False
        tenure = self._tenure(member, now)
        if tenure < self.config.vet_after:
            return False
        open_ = s.solo + self.pending.get(member, 0)
        hours = max(1.0, min(tenure, now - self.recorded_from) / 3600)
        if self.config.vet_open and s.misses + open_ > self.config.vet_open * hours:
            return False
        done = s.hits + s.misses + open_
        # As many misses again as the reports it needs: a lucky start is not a record.
        need = self.config.vet_reports
        return s.hits >= need and s.hits >= self.config.vet_precision * (done + need)

    def decides(self, member: str, now: float) -> bool:
        """Whether the member's word alone makes a block (provisional or not)."""
        return self.trusted(member, now) or self.vetted(member, now)

    def solo_slots(self, member: str) -> int:
        """How many provisional blocks the member may hold open at once."""
        return max(1, round(self.config.solo_open * self.weight(member)))

    def support(self, members: Iterable[str]) -> float:
        """The summed weight of the members that count."""
        return sum(self.weight(m) for m in members if self.counts(m))

    # -- what changes a standing ----------------------------------------------------
    def corroborated(self, supporters: Iterable[str]) -> None:
        """A block was decided with ``supporters``: each gains the others' weights."""
        members = sorted({m for m in supporters if self.counts(m)})
        if len(members) < 2 or not self.config.enabled:
            return
        weights = {m: self.weight(m) for m in members}
        total = sum(weights.values())
        for member in members:
            gain = min(1.0, total - weights[member])
            if gain > 0:
                self._gain(member, gain).corroborated += 1

    def penalise(self, supporters: Iterable[str], why: Literal["lift", "dispute"]) -> None:
        """A block ``supporters`` made was lifted by the operator or by a dispute."""
        for member in set(supporters):
            s = self.standings.setdefault(member, Standing())
            if why == "lift":
                s.lifted += 1
                s.credit -= self.config.lift_penalty
            else:
                s.upheld += 1
                s.credit -= self.config.dispute_penalty

    def solo(self, member: str) -> None:
        """The member's word alone made a provisional block: it costs until corroborated."""
        s = self.standings.setdefault(member, Standing())
        s.solo += 1
        s.credit -= self.config.solo_penalty

    def confirm(self, member: str) -> None:
        """A provisional block the member made was corroborated: the cost comes back."""
        s = self.standings.setdefault(member, Standing())
        if s.solo > 0:
            s.solo -= 1
            self._gain(member, self.config.solo_penalty)

    def record(self, member: str, corroborated: bool) -> None:
        """One more report of the member's corroborated (or aged out alone)."""
        s = self.standings.setdefault(member, Standing())
        if corroborated:
            s.hits += 1
        else:
            s.misses += 1

    def expired(self, member: str) -> None:
        """A provisional block the member made ran out uncorroborated (its cost stays)."""
        s = self.standings.setdefault(member, Standing())
        s.solo = max(0, s.solo - 1)
        s.misses += 1

    def apply(self, event: TrustEvent) -> bool:
        """Apply a quarantine or release; False when it changes nothing."""
        s = self.standings.setdefault(event.member, Standing())
        if event.act == "quarantine":
            if s.quarantined:
                return False
            s.quarantined, s.since = event.reason or "quarantined", event.at
            return True
        if not s.quarantined:
            return False
        s.quarantined, s.since = "", event.at
        return True


def quarantines(entries: Iterable[JournalRecord]) -> list[TrustEvent]:
    """The quarantines among journal entries about to be (or just) written."""
    events = (decode_event(e.body) for e in entries if e.kind == JOURNAL_KIND)
    return [e for e in events if e is not None and e.act == "quarantine"]


class JournalRecord(Protocol):
    """What :func:`quarantines` reads of a journal entry."""

    @property
    def kind(self) -> str: ...

    @property
    def body(self) -> bytes: ...


def encode_event(event: TrustEvent) -> bytes:
    """The journal body of a trust event."""
    return msgspec.json.encode(event)


_events = msgspec.json.Decoder(TrustEvent)


def decode_event(body: bytes) -> TrustEvent | None:
    """A journal body as a trust event (``None`` for a body this version cannot read)."""
    try:
        return _events.decode(body)
    except msgspec.DecodeError:
        return None
