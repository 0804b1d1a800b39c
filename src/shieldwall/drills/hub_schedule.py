"""Scheduled drills on the hub: ``drill_every`` in hub.toml, or the chair's standing order.

Without a council the hub orders a drill every ``drill_every`` seconds, signed with its
identity key. Under a council only the chair orders drills, so a scheduled drill needs
the chair's :class:`~.order.StandingOrder` (``shieldwall drill standing``, installed with
``shieldwall drill schedule``): the hub signs each scheduled order with its key and
attaches the standing order, which every member checks (:mod:`.authority`). Without a
valid one scheduled drills are off, and :attr:`Schedule.off` (logged when it changes,
shown by ``shieldwall drill schedule``) says why.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

import msgspec

from shieldwall.drills.authority import standing_refusal
from shieldwall.drills.journal import put_order
from shieldwall.drills.order import StandingOrder, sign_order
from shieldwall.drills.schedule import due, scheduled_order
from shieldwall.governance.standing import Standing
from shieldwall.hub.ledger.storage import Ledger

log = logging.getLogger("shieldwall.drills")
#: The journal kind of installed standing orders (keyed by their id; the newest counts).
STANDING = "drill.standing"
_standing = msgspec.json.Decoder(StandingOrder)


async def latest_standing(ledger: Ledger) -> StandingOrder | None:
    """The standing order installed last (``None``: none, or it does not decode)."""
    for entry in await ledger.journal(STANDING, limit=1, newest_first=True):
        try:
            return _standing.decode(entry.body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
    return None


def schedule_off(every: float, council: Standing | None, governed: bool,
                 standing: StandingOrder | None, now: float) -> tuple[float, str | None]:
    """The period scheduled drills run at, and why they are off (``None``: they are on).

    Pure: ``governed`` says whether the hub runs under a council, ``council`` its verified
    standing (``None`` while not read).
    """
    if not governed:
        return every, (None if every > 0 else "hub.toml sets no drill_every")
    if council is None:
        return 0.0, "the hub has not verified the council's act log yet"
    if standing is None:
        return 0.0, ("under the council scheduled drills need the chair's standing order:"
                     " `shieldwall drill standing --key CHAIR.key`, then `shieldwall drill"
                     " schedule FILE`")
    why = standing_refusal(standing, council, now)
    if why is not None:
        return 0.0, f"{why.detail}: the chair signs a new one (`shieldwall drill standing`)"
    return float(standing.body.every), None


class Schedule:
    """The hub's scheduled drills (driven by the drill desk's loop)."""

    def __init__(self, ledger: Ledger, clock: Callable[[], float], every: float,
                 seed: bytes | None, council: Callable[[], Standing | None] | None) -> None:
        self.ledger = ledger
        self.clock = clock
        self.every = every
        self.seed = seed
        self.council = council
        self.last_order_at: float | None = None
        #: Why scheduled drills are off now (``None``: on, or never configured).
        self.off: str | None = None
        self._standing: StandingOrder | None = None
        self._read = float("-inf")

    async def tick(self) -> None:
        """Order a drill when one is due."""
        now = self.clock()
        if self.seed is None:
            return
        governed = self.council is not None
        if governed and now - self._read >= 5.0:  # installed from another process
            self._standing, self._read = await latest_standing(self.ledger), now
        council = self.council() if self.council is not None else None
        every, off = schedule_off(self.every, council, governed, self._standing, now)
        if off != self.off and (governed or self.every):
            log.warning("scheduled drills are off: %s", off) if off else log.info(
                "scheduled drills are on: every %.0f s", every)
        self.off = off
        if off is not None or not due(every, self.last_order_at, now):
            return
        self.last_order_at = now  # also when nobody is there to drill: ask again next period
        active = [m.name for m in await self.ledger.members() if m.active]
        standing = self._standing if governed else None
        if standing is not None and standing.body.members:
            active = [name for name in active if name in standing.body.members]
        body = scheduled_order(active, now, secrets.token_hex(6), secrets.randbelow(254))
        if body is None:
            return
        if standing is not None:
            body = msgspec.structs.replace(body, issuer="standing", stages=standing.body.stages,
                                           ttl=min(body.ttl, standing.body.ttl))
        await put_order(self.ledger, sign_order(self.seed, body, standing), now)
        log.info("scheduled drill %s ordered on %d members", body.id, len(active))
