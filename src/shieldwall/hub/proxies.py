"""A member's declared reverse proxies, as the hub takes and uses them (pure).

A member behind reverse proxies (a CDN, a load balancer) declares them
(``POST /v1/proxies``, a signed member request; the agent sends its
``detection.proxies``). The hub then refuses the member's *own* detections that
blame one of them (:func:`shieldwall.hub.intake.member_guards`): a proxy blamed
in a member's logs stands for every client behind it, so the detection is the
member's misconfiguration and must never become a block.

Whose reports the declaration touches is the rule that keeps it safe: **only the
declaring member's own.** Another member's detection of the same address is judged
by the policy as usual. A declaration that shielded an address from every member's
reports would let any one member (a hostile or a compromised one) make an attacker
unblockable alliance-wide by calling it its proxy. Sovereignty still holds for the
declaring member: its agent never applies a block on its own proxies or own
addresses (they are in its enforcement allowlist), so what it protects is never
blocked on it by the others' reports.

Bounds, so that a declaration stays a list of proxies: at most
:data:`MAX_PROXIES` networks, none wider than :data:`WIDEST` (wide enough for a
CDN's published ranges, far from 0.0.0.0/0), each written as a network (no host
bits). A new declaration replaces the last one whole; an empty one withdraws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated

import msgspec

from shieldwall.addresses import Labelled, Ranges, network_target, parse_network
from shieldwall.errors import AddressError, SignalError

#: Networks one member may declare.
MAX_PROXIES = 64
#: The shortest prefix (widest network) a declared proxy may have, per IP version.
WIDEST = {4: 12, 6: 29}
#: Longest text of one declared network (an IPv6 CIDR is at most 43 characters).
_MAX_TEXT = 64


class ProxyDeclaration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /v1/proxies``: every reverse proxy in front of the member."""

    proxies: Annotated[list[Annotated[str, msgspec.Meta(max_length=_MAX_TEXT)]],
                       msgspec.Meta(max_length=MAX_PROXIES)]


class ProxiesAnswer(msgspec.Struct, frozen=True):
    """What the hub stored for the member (canonical networks, sorted)."""

    name: str
    proxies: list[str]


def check_declaration(texts: Sequence[str]) -> tuple[str, ...]:
    """The canonical, sorted, de-duplicated networks of a declaration.

    Raises :class:`SignalError` (reason ``invalid``) naming the entry at fault: not a
    network, host bits set, wider than :data:`WIDEST`, or more than
    :data:`MAX_PROXIES` of them.
    """
    if len(texts) > MAX_PROXIES:
        raise SignalError("invalid", f"{len(texts)} proxies declared; at most {MAX_PROXIES} are taken")
    networks = set()
    for index, text in enumerate(texts):
        if not isinstance(text, str) or len(text) > _MAX_TEXT:
            raise SignalError("invalid", f"proxy {index}: not an address or network")
        try:
            network = parse_network(text)
        except AddressError as exc:
            raise SignalError("invalid", f"proxy {index}: {exc}") from None
        widest = WIDEST[network.version]
        if network.prefixlen < widest:
            raise SignalError(
                "invalid",
                f"proxy {index}: {network} is wider than /{widest}: declare the proxies "
                f"themselves (a CDN's published ranges are narrower)",
            )
        networks.add(network)
    ordered = sorted(networks, key=lambda n: (n.version, n.network_address, n.prefixlen))
    return tuple(network_target(n) for n in ordered)


def guard_ranges(declared: Mapping[str, Sequence[str]]) -> dict[str, Ranges]:
    """Per member, its declared proxies as the ranges its own detections may not blame.

    What the ledger holds was checked when it was declared; an entry that no longer
    parses (written by hand, or by another release) is skipped, never fatal.
    """
    guards: dict[str, Ranges] = {}
    for member, texts in declared.items():
        entries = []
        for text in texts:
            try:
                entries.append(Labelled(parse_network(text), f"declared proxy of {member!r}"))
            except AddressError:
                continue
        if entries:
            guards[member] = Ranges(entries)
    return guards
