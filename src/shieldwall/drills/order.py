"""Drill orders: what a drill is, who signed it, and every member's reasons to refuse it.

An order names one drill target from the documentation ranges
(:data:`~shieldwall.addresses.DRILL_RANGES`), the members that take part, the stages
to run and each stage's time limit, and a time-to-live of at most :data:`MAX_TTL`.
It is signed the house way (:func:`~shieldwall.governance.signatures.digest` of a
domain tag and the body's canonical bytes) by the hub's identity key (the
operator's, until the council exists) or by the council's chair; a scheduled drill
under a council is signed by the hub and carries the chair's :class:`StandingOrder`
(who may sign what is :mod:`.authority`).

:func:`refusal` is the member's gate, pure and total: every order is checked before
anything runs, and a refused order is answered with the reason, never run in part.
The wire bounds are wider than the rules (a TTL up to a day decodes) so that an
order breaking a rule is refused *with that rule's reason* in the drill report.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Container, Mapping
from typing import Annotated, Literal

import msgspec

from shieldwall.addresses import is_drill_target, parse_network
from shieldwall.errors import AddressError
from shieldwall.governance.signatures import Name, Signature, Time, digest, sign_digest, verifies
from shieldwall.signals.bounds import TargetText

DOMAIN = b"shieldwall drill order v1\n"
#: "A time-to-live of at most a few minutes."
MAX_TTL = 300
#: An order issued further ahead of the member's clock than this is refused.
MAX_SKEW = 30
Stage = Literal["detect", "signal", "decide", "push", "enforce"]
#: The chain, in order; ``--stages`` picks a prefix of it.
STAGES: tuple[Stage, ...] = ("detect", "signal", "decide", "push", "enforce")
#: Seconds each stage may take before the drill stops: well above what a healthy member
#: takes (tens of milliseconds; ``accept`` covers the 1 s order poll), so that only a
#: fault trips them, not a busy host.
DEFAULT_LIMITS: dict[str, float] = {
    "accept": 10.0, "detect": 5.0, "signal": 10.0, "decide": 5.0, "push": 10.0, "enforce": 5.0,
    "lift": 10.0,
}
DrillId = Annotated[str, msgspec.Meta(pattern=r"^drill-[0-9a-f]{8,32}$")]
Limit = Annotated[float, msgspec.Meta(gt=0, le=3600)]
Members = Annotated[tuple[Name, ...], msgspec.Meta(min_length=1, max_length=10_000)]


class StageLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How long one stage may take (``accept`` and ``lift`` included)."""

    stage: Annotated[str, msgspec.Meta(max_length=16)]
    seconds: Limit


class OrderBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The signed content of an order."""

    id: DrillId
    target: TargetText
    issued: Time
    ttl: Annotated[int, msgspec.Meta(ge=1, le=86400)]
    members: Members
    stages: Annotated[tuple[Stage, ...], msgspec.Meta(min_length=1, max_length=5)] = STAGES
    limits: Annotated[tuple[StageLimit, ...], msgspec.Meta(max_length=16)] = ()
    #: ``operator`` (the hub's identity key), ``chair`` (the council's chair) or
    #: ``standing`` (scheduled by the hub under the chair's standing order).
    issuer: Literal["operator", "chair", "standing"] = "operator"

    @property
    def expires(self) -> int:
        """When the order and everything it caused end."""
        return self.issued + self.ttl

    def limit(self, stage: str) -> float:
        """The time limit of ``stage``: the order's, else the default."""
        for item in self.limits:
            if item.stage == stage:
                return item.seconds
        return DEFAULT_LIMITS.get(stage, 5.0)

    def runs(self, stage: str) -> bool:
        """Whether this drill runs ``stage`` (``lift`` runs whenever ``push`` does)."""
        return stage in self.stages or (stage == "lift" and "push" in self.stages)


class StandingBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The chair's standing order for scheduled drills under a council (the signed part)."""

    id: Annotated[str, msgspec.Meta(pattern=r"^standing-[0-9a-f]{8,32}$")]
    issued: Time
    expires: Time
    #: Seconds between scheduled drills.
    every: Annotated[int, msgspec.Meta(ge=60, le=366 * 86400)]
    #: Members drilled (empty: every active member).
    members: Annotated[tuple[Name, ...], msgspec.Meta(max_length=10_000)] = ()
    stages: Annotated[tuple[Stage, ...], msgspec.Meta(min_length=1, max_length=5)] = STAGES
    ttl: Annotated[int, msgspec.Meta(ge=1, le=MAX_TTL)] = 120


class StandingOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A standing order and the chair's signature."""

    body: StandingBody
    signature: Signature


class DrillOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An order and its signature (and, for a scheduled drill under a council, its mandate)."""

    body: OrderBody
    signature: Signature
    standing: StandingOrder | None = None


class Refusal(msgspec.Struct, frozen=True):
    """Why a member will not run an order: a short ``reason`` code and a sentence."""

    reason: Literal["signature", "replay", "target", "ttl", "expired", "future", "stages",
                    "chair", "standing", "council"]
    detail: str


def order_digest(body: OrderBody) -> bytes:
    """What the signature covers."""
    return digest(DOMAIN, body)


def sign_order(seed: bytes, body: OrderBody, standing: StandingOrder | None = None) -> DrillOrder:
    """``body`` signed with the 32-byte Ed25519 ``seed`` (``standing``: its mandate)."""
    return DrillOrder(body, sign_digest(seed, order_digest(body)), standing)


STANDING_DOMAIN = b"shieldwall drill standing order v1\n"


def standing_digest(body: StandingBody) -> bytes:
    """What the chair's signature of a standing order covers."""
    return digest(STANDING_DOMAIN, body)


def sign_standing(seed: bytes, body: StandingBody) -> StandingOrder:
    """A standing order signed with the chair's 32-byte ``seed``."""
    return StandingOrder(body, sign_digest(seed, standing_digest(body)))


def decode_order(data: bytes) -> DrillOrder:
    """Parse an order; raises ``msgspec.ValidationError``/``DecodeError`` on bad input."""
    return msgspec.json.decode(data, type=DrillOrder)


def valid_stages(stages: tuple[str, ...]) -> bool:
    """Stages must be a prefix of :data:`STAGES`, without ``push`` apart from ``enforce``.

    A drill decision that reaches a member is always applied (the real path has no
    "receive but do not enforce"), so ``push`` comes with ``enforce`` or not at all.
    """
    n = len(stages)
    return 0 < n <= len(STAGES) and stages == STAGES[:n] and n != STAGES.index("push") + 1


def target_refusal(target: str) -> str | None:
    """Why ``target`` is no drill target, or ``None``: the one check hub and members share."""
    try:
        network = parse_network(target)
    except AddressError as exc:
        return f"the drill target {target!r} is not an address: {exc}"
    if not is_drill_target(network):
        return (f"the drill target {target} is outside the documentation ranges 192.0.2.0/24,"
                " 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32: a drill never names a"
                " real address")
    return None


def covers(outer: str, inner: str) -> bool:
    """Whether the address or CIDR ``outer`` covers all of ``inner`` (``False`` if either is bad)."""
    try:
        big, small = parse_network(outer), parse_network(inner)
    except AddressError:
        return False
    if isinstance(big, ipaddress.IPv4Network) and isinstance(small, ipaddress.IPv4Network):
        return small.subnet_of(big)
    if isinstance(big, ipaddress.IPv6Network) and isinstance(small, ipaddress.IPv6Network):
        return small.subnet_of(big)
    return False


def refusal(order: DrillOrder, trusted: Mapping[str, str], now: float,
            seen: Container[str] = ()) -> Refusal | None:
    """Why this member refuses ``order`` (``None``: it runs it).

    ``trusted`` maps key id -> public key hex of the keys allowed to order drills
    (the hub's identity key; the chair's while a charter is in force); ``seen`` holds
    the ids of orders already run or refused here.
    """
    body = order.body
    public = trusted.get(order.signature.key_id)
    if public is None:
        return Refusal("signature", f"the order is signed by key {order.signature.key_id},"
                                    " which may not order drills here")
    if not verifies(public, order_digest(body), order.signature.sig):
        return Refusal("signature", "the order's signature does not verify: forged or altered")
    if body.id in seen:
        return Refusal("replay", f"order {body.id} was already received here: a replay")
    why = target_refusal(body.target)
    if why is not None:
        return Refusal("target", why)
    if body.ttl > MAX_TTL:
        return Refusal("ttl", f"the order lives {body.ttl} s; a drill may live {MAX_TTL} s at most")
    if body.issued > now + MAX_SKEW:
        return Refusal("future", f"the order is issued {body.issued - now:.0f} s in the future"
                                 " of this member's clock: check both clocks (R6)")
    if now >= body.expires:
        return Refusal("expired", f"the order expired {now - body.expires:.0f} s ago")
    if not valid_stages(body.stages):
        return Refusal("stages", f"stages {','.join(body.stages)} are not a prefix of"
                                 f" {','.join(STAGES)} (push needs enforce)")
    return None
