"""Joining the alliance: the join endpoint and the rules for the ranges a newcomer claims.

A member's owned ranges are protected from every signal, so a claim is a way to
make addresses unblockable for the whole alliance. :func:`check_claims` (pure)
therefore refuses a claim that is too wide, too many claims, or a total above
:data:`MAX_OWNED_ADDRESSES`; a claim overlapping another member's ranges; and a
claim overlapping a block in force (joining must not unblock an attacker). An
invite may name the ranges its member holds: claims must then lie inside them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from shieldwall.addresses import IPNetwork
from shieldwall.errors import AddressError, HubError
from shieldwall.hub.api import bounded_body, hub_of, json_response
from shieldwall.hub.ledger.storage import MemberRecord
from shieldwall.hub.members import check_member_name, secret_hash
from shieldwall.hub.policy import canonical_target
from shieldwall.hub.problem import ProblemError
from shieldwall.signals.bounds import MAX_OWNED_CLAIMS, Base64Text, TargetText
from shieldwall.signals.keys import key_id_of

#: Widest single range a member may claim without the invite naming it.
WIDEST_OWNED = {4: 22, 6: 40}
#: Claims one member may make.
MAX_OWNED = 64
#: IPv4 addresses one member's claims may cover in all (a /18's worth).
MAX_OWNED_ADDRESSES = 16_384
JOIN_BODY_LIMIT = 32 * 1024


class JoinRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A new member's request to join with a token's secret."""

    secret: Base64Text
    #: Base64 of the member's raw 32-byte Ed25519 public key.
    public_key: Base64Text
    #: Addresses/CIDRs the member owns: no signal can get them blocked.
    owns: Annotated[list[TargetText], msgspec.Meta(max_length=MAX_OWNED_CLAIMS)] = []
    name: Annotated[str, msgspec.Meta(max_length=63)] = ""


class JoinResponse(msgspec.Struct, frozen=True):
    """The hub's welcome: the member's registered name and key id."""

    name: str
    key_id: str
    #: Base64 of the hub's Ed25519 identity public key.
    hub_key: str


def check_claims(
    claims: Sequence[str],
    members: Iterable[MemberRecord],
    blocked: Iterable[str],
    invited: Sequence[str] = (),
) -> list[str]:
    """The canonical claims, or :class:`HubError` saying which claim is refused and why."""
    if len(claims) > MAX_OWNED:
        raise HubError(f"owns: at most {MAX_OWNED} ranges (got {len(claims)})")
    allowed = [canonical_target(text)[1] for text in invited]
    others = [
        (member.name, canonical_target(text)[1])
        for member in members if member.active for text in member.owns
    ]
    blocks = [canonical_target(text)[1] for text in blocked]
    owns: list[str] = []
    total_v4 = 0
    for text in claims:
        try:
            target, network = canonical_target(text)
        except AddressError as exc:
            raise HubError(f"owns: {exc}") from None
        if allowed:
            if not any(_inside(network, a) for a in allowed):
                raise HubError(f"owns: {target} is not among the ranges the invite names")
        elif network.prefixlen < WIDEST_OWNED[network.version]:
            raise HubError(
                f"owns: {target} is wider than /{WIDEST_OWNED[network.version]}; a member may"
                " only protect ranges it really holds (split it, or ask the operator to name"
                " the range in the invite: `shieldwall hub invite --owns CIDR`)"
            )
        if network.version == 4:
            total_v4 += network.num_addresses
            if total_v4 > MAX_OWNED_ADDRESSES and not allowed:
                raise HubError(f"owns: the claims cover more than {MAX_OWNED_ADDRESSES} addresses")
        for name, theirs in others:
            if _overlap(network, theirs):
                raise HubError(f"owns: {target} overlaps {theirs} owned by member {name!r}")
        for block in blocks:
            if _overlap(network, block):
                raise HubError(
                    f"owns: {target} overlaps {block}, which the alliance blocks now; ask the"
                    " operator to lift it first"
                )
        owns.append(target)
    return owns


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


def _inside(a: IPNetwork, b: IPNetwork) -> bool:
    return a.version == b.version and a.subnet_of(b)  # type: ignore[arg-type]


async def post_join(request: Request) -> Response:
    """Register a new member with a one-time secret from a join token (refused under a
    council: see :mod:`shieldwall.hub.admitted`)."""
    hub = hub_of(request)
    if hub.config.council_dir is not None:  # an invite made before the council was attached
        from shieldwall.hub.admitted import invite_refusal  # (it imports the council, which imports this)

        raise ProblemError("join-refused", invite_refusal(hub.config, remote=True))
    raw = await bounded_body(request, JOIN_BODY_LIMIT)
    try:
        join = msgspec.json.decode(raw, type=JoinRequest)
    except msgspec.DecodeError as exc:
        raise ProblemError("bad-request", f"join request is not valid: {exc}") from None
    try:
        public_key = base64.b64decode(join.public_key, validate=True)
    except (binascii.Error, ValueError):
        raise ProblemError("invalid", "public_key is not base64") from None
    if len(public_key) != 32:
        raise ProblemError("invalid", "public_key must be 32 bytes (Ed25519)")
    key_id = key_id_of(public_key)
    name = join.name or f"member-{key_id[:8]}"
    # The invite first: a stranger learns nothing about members' ranges or blocks.
    invite = await hub.ledger.invite(secret_hash(join.secret))
    if invite is None:
        raise ProblemError("join-refused", "this join token is not known to the hub")
    if invite.used_by:
        raise ProblemError("join-refused", "this join token was already used; ask for a new one")
    if invite.expires < hub.clock():
        raise ProblemError("join-refused", "this join token has expired; ask for a new one")
    try:
        check_member_name(invite.name or name)
        owns = check_claims(
            join.owns, await hub.ledger.members(), hub.writer.active_targets(), invite.owns
        )
    except HubError as exc:
        raise ProblemError("invalid", str(exc)) from None
    candidate = MemberRecord(
        name=name, key_id=key_id, public_key=public_key, owns=tuple(owns), joined=0.0
    )
    try:
        member = await hub.ledger.redeem_invite(secret_hash(join.secret), candidate, hub.clock())
    except HubError as exc:
        raise ProblemError("join-refused", str(exc)) from None
    hub.writer.membership_changed()
    answer = JoinResponse(member.name, member.key_id, base64.b64encode(hub.hub_key).decode())
    return json_response(msgspec.json.encode(answer), 201)
