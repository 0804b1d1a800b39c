"""Who may order a drill: the operator (the hub's key) until the council exists, its chair after.

Pure; the hub's drill desk and every member ask the same questions with their own
clock. Without a council an order must be signed by the hub's identity key. Under a
council (the caller passes the verified :class:`~shieldwall.governance.standing.Standing`):

- an order is signed by the councillor who chairs both when it was issued and now
  (:func:`~shieldwall.governance.chair.chair_at`, appointments included): the hub's
  key, a former chair (even one back-dating an order into its term), a chair-to-be and
  any other councillor are refused, each with its own reason;
- a scheduled drill is signed by a hub key of the charter and carries the chair's
  :class:`~.order.StandingOrder`, valid while its signer chairs and before it expires,
  and the order must keep within it (members, stages, TTL, not more often than half its
  period on one member).

:func:`signer_key` returns the public key the order's signature must verify with (the
caller then runs :func:`~.order.refusal`), or the :class:`~.order.Refusal`.
"""

from __future__ import annotations

from collections.abc import Mapping

from shieldwall.drills.order import (
    DrillOrder,
    Refusal,
    StandingOrder,
    order_digest,
    standing_digest,
)
from shieldwall.governance.chair import chair_at
from shieldwall.governance.charter import council_keys
from shieldwall.governance.signatures import verifies
from shieldwall.governance.standing import Standing
from shieldwall.signals.keys import key_id_of


def chair_of(council: Standing, t: float) -> str | None:
    """The chair at ``t`` under ``council`` (``None`` before its rotation starts)."""
    assert council.state.trusted is not None  # a Standing is always founded
    return chair_at(council.state.trusted.charter.rotation, int(t), council.state.appointments)


def _chair_refusal(council: Standing, key_id: str, issued: float, now: float,
                   what: str) -> tuple[str, Refusal | None]:
    """The chair's public key if ``key_id`` is the chair's at ``issued`` and ``now``."""
    seats = council_keys(council.state.trusted.charter)  # type: ignore[union-attr]
    chair = chair_of(council, now)
    named = f" ({chair} chairs now)" if chair else " (no one chairs yet)"
    if key_id in council.hub_keys:
        return "", Refusal("chair", f"{what} is signed by the hub's key: under the council"
                                    f" only its chair orders drills{named}")
    seat = seats.get(key_id)
    if seat is None:
        return "", Refusal("signature", f"{what} is signed by key {key_id}, neither the"
                                        f" chair's nor a councillor's{named}")
    name, public = seat
    then = chair_of(council, issued)
    if name != chair and name == then:
        return "", Refusal("chair", f"{what} is signed by {name}, who no longer chairs{named}")
    if name != chair:
        return "", Refusal("chair", f"{what} is signed by councillor {name}, who is not the"
                                    f" chair{named}")
    if name != then:
        return "", Refusal("chair", f"{what} is dated before {name} chaired (issued under"
                                    f" {then or 'no chair'}): a chair orders in its own term")
    return public, None


def standing_refusal(standing: StandingOrder, council: Standing, now: float) -> Refusal | None:
    """Why ``standing`` does not (or no longer) authorise scheduled drills at ``now``."""
    body = standing.body
    _, why = _chair_refusal(council, standing.signature.key_id, body.issued, now,
                            f"standing order {body.id}")
    if why is not None:
        return Refusal("standing", why.detail)
    seats = council_keys(council.state.trusted.charter)  # type: ignore[union-attr]
    public = seats[standing.signature.key_id][1]
    if not verifies(public, standing_digest(body), standing.signature.sig):
        return Refusal("standing", f"standing order {body.id}'s signature does not verify:"
                                   " forged or altered")
    if now >= body.expires:
        return Refusal("standing", f"standing order {body.id} expired"
                                   f" {now - body.expires:.0f} s ago: the chair signs a new one")
    if body.issued > now + 30:
        return Refusal("standing", f"standing order {body.id} is issued in the future")
    return None


def _within(order: DrillOrder, standing: StandingOrder, last: float | None) -> Refusal | None:
    body, mandate = order.body, standing.body
    if body.issuer != "standing":
        return Refusal("standing", "a drill under a standing order must say so (issuer standing)")
    if mandate.members and not set(body.members) <= set(mandate.members):
        return Refusal("standing", f"the order names members outside standing order {mandate.id}")
    if body.stages != mandate.stages or body.ttl > mandate.ttl:
        return Refusal("standing", f"the order's stages or TTL exceed standing order {mandate.id}")
    if not mandate.issued <= body.issued < mandate.expires:
        return Refusal("standing", f"the order is dated outside standing order {mandate.id}")
    if last is not None and body.issued - last < mandate.every / 2:
        return Refusal("standing", f"a scheduled drill ran {body.issued - last:.0f} s ago; standing"
                                   f" order {mandate.id} allows one every {mandate.every} s")
    return None


def signer_key(order: DrillOrder, council: Standing | None, hub_keys: Mapping[str, str],
               now: float, last_scheduled: float | None = None) -> str | Refusal:
    """The public key (hex) ``order`` must be signed with, or why it may not order a drill.

    ``hub_keys`` maps key id -> public key hex of the hub this party trusts (a member's
    pinned key; the hub's own); ``last_scheduled`` is when the last scheduled drill
    accepted here was issued.
    """
    key_id = order.signature.key_id
    if council is None:
        if order.standing is not None or order.body.issuer == "standing":
            return Refusal("standing", "a standing order means nothing without a council")
        public = hub_keys.get(key_id)
        if public is None:
            return Refusal("signature", f"the order is signed by key {key_id}, which may not"
                                        " order drills here (not the hub's)")
        return public
    if order.standing is None:
        public, why = _chair_refusal(council, key_id, order.body.issued, now, "the order")
        return why if why is not None else public
    why = standing_refusal(order.standing, council, now)
    if why is None:
        why = _within(order, order.standing, last_scheduled)
    if why is not None:
        return why
    public = council.hub_keys.get(key_id)  # the charter's hub keys, not merely a pinned one
    if public is None:
        return Refusal("signature", f"the scheduled order is signed by key {key_id}, not a hub"
                                    " key of the charter")
    return public


def hub_refusal(order: DrillOrder, council: Standing | None, hub_key: bytes,
                now: float) -> str | None:
    """Why the hub with identity ``hub_key`` will not conduct ``order`` (``None``: it will)."""
    public = signer_key(order, council, {key_id_of(hub_key): hub_key.hex()}, now)
    if isinstance(public, Refusal):
        return public.detail
    if not verifies(public, order_digest(order.body), order.signature.sig):
        return "the order's signature does not verify: forged or altered"
    return None


def issuer_of(order: DrillOrder, council: Standing | None) -> str:
    """Who ordered ``order``, for its report: ``chair alice`` (the councillor's name)."""
    if council is None or council.state.trusted is None or order.body.issuer == "operator":
        return order.body.issuer
    key = (order.standing.signature if order.standing else order.signature).key_id
    seat = council_keys(council.state.trusted.charter).get(key)
    return order.body.issuer if seat is None else f"{order.body.issuer} {seat[0]}"
