"""The query parameters of ``/v1/decisions/stream`` and ``/v1/decisions``, parsed and applied.

Semantics are CrowdSec 1.4.6's (``BuildDecisionRequestWithFilter``): scopes
default to ``ip,range`` and match case-insensitively; ``origins`` match exactly;
``scenarios_containing`` keeps a decision when any listed substring occurs in
its scenario, ``scenarios_not_containing`` drops it (both case-insensitive).
Unknown parameters are ignored, because current clients always send some
(``community_pull``...). Values are bounded: they come from the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shieldwall.addresses import IPNetwork, canonical_target, is_range, target_network, widen_network
from shieldwall.errors import AddressError
from shieldwall.interop.crowdsec.decision import TYPE_BAN, Published

MAX_VALUE = 4096
MAX_ITEMS = 64
DEFAULT_SCOPES = frozenset({"ip", "range"})
#: Debian's crowdsec-firewall-bouncer (0.0.25, and still at upstream HEAD) keeps only
#: the network address of a Range decision in nftables mode (cs-firewall-bouncer
#: issues 396, 412): a /24 would silently become one host. It is never sent ranges.
TRUNCATING_AGENTS = ("crowdsec-firewall-bouncer/",)


class FilterError(ValueError):
    """A query parameter a client sent cannot be understood (answered with 400)."""


def _text(params: Mapping[str, str], key: str) -> str:
    value = params.get(key, "")
    if len(value) > MAX_VALUE:
        raise FilterError(f"{key}: longer than {MAX_VALUE} characters")
    return value


def _items(params: Mapping[str, str], key: str, *, lower: bool) -> tuple[str, ...]:
    raw = _text(params, key)
    items = tuple(p.strip().lower() if lower else p.strip() for p in raw.split(",") if p.strip())
    if len(items) > MAX_ITEMS:
        raise FilterError(f"{key}: more than {MAX_ITEMS} items")
    return items


def parse_bool(params: Mapping[str, str], key: str, default: bool) -> bool:
    """A boolean the way Go's ``strconv.ParseBool`` reads it."""
    raw = _text(params, key)
    if raw == "":
        return default
    if raw in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if raw in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise FilterError(f"{key}: {raw[:40]!r} is not a boolean")


def withholds_ranges(user_agent: str) -> bool:
    """True for clients known to truncate Range decisions to their first address."""
    return user_agent.startswith(TRUNCATING_AGENTS)


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """What one request asks for; :meth:`matches` decides per published block."""

    scopes: frozenset[str] = DEFAULT_SCOPES
    origins: tuple[str, ...] = ()
    containing: tuple[str, ...] = ()
    not_containing: tuple[str, ...] = ()
    #: ``/v1/decisions`` only: exact value, exact type, and an address or range.
    value: str = ""
    type: str = ""
    network: IPNetwork | None = None
    contains: bool = True
    #: Ranges were asked for but are withheld from this client (see TRUNCATING_AGENTS).
    ranges_withheld: bool = False

    def matches(self, entry: Published) -> bool:
        """True when ``entry`` is within what was asked for (scope included)."""
        scope = "range" if is_range(entry.target) else "ip"
        return scope in self.scopes and self.matches_besides_scope(entry)

    def matches_besides_scope(self, entry: Published) -> bool:
        """Every condition but the scope (to count what a scope rule withheld)."""
        if self.origins and entry.origin not in self.origins:
            return False
        scenario = entry.scenario.lower()
        if self.containing and not any(s in scenario for s in self.containing):
            return False
        if any(s in scenario for s in self.not_containing):
            return False
        if self.value and entry.target != self.value:
            return False
        if self.type and self.type != TYPE_BAN:
            return False
        if self.network is not None:
            net = target_network(entry.target)
            if net.version != self.network.version:
                return False
            lo, hi = int(net.network_address), int(net.broadcast_address)
            q_lo, q_hi = int(self.network.network_address), int(self.network.broadcast_address)
            inside = lo <= q_lo and q_hi <= hi if self.contains else q_lo <= lo and hi <= q_hi
            if not inside:
                return False
        return True


def _value(raw: str) -> str:
    # Blocks are keyed by canonical target: 192.0.2.7/32 asks for 192.0.2.7.
    try:
        return canonical_target(raw) if raw else ""
    except AddressError:
        return raw


def stream_filter(params: Mapping[str, str], user_agent: str) -> DecisionFilter:
    """The filter of a ``/v1/decisions/stream`` request."""
    scopes = frozenset(_items(params, "scopes", lower=True)) or DEFAULT_SCOPES
    withheld = "range" in scopes and withholds_ranges(user_agent)
    return DecisionFilter(
        scopes=scopes - {"range"} if withheld else scopes,
        ranges_withheld=withheld,
        origins=_items(params, "origins", lower=False),
        containing=_items(params, "scenarios_containing", lower=True),
        not_containing=_items(params, "scenarios_not_containing", lower=True),
    )


def query_filter(params: Mapping[str, str]) -> DecisionFilter:
    """The filter of a ``/v1/decisions`` request (``ip``, ``range``, ``scope``...)."""
    base = stream_filter(params, "")
    scope = _text(params, "scope").strip().lower()
    network: IPNetwork | None = None
    for key in ("ip", "range"):
        raw = _text(params, key).strip()
        if raw:
            try:
                network = widen_network(raw)
            except AddressError as exc:
                raise FilterError(f"{key}: {exc}") from None
    return DecisionFilter(
        scopes=frozenset({scope}) if scope else base.scopes,
        origins=base.origins,
        containing=base.containing,
        not_containing=base.not_containing,
        value=_value(_text(params, "value").strip()),
        type=_text(params, "type").strip(),
        network=network,
        contains=parse_bool(params, "contains", True),
    )
