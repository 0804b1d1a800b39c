"""Shieldwall's nftables table as text: render batches, parse ``nft -j`` listings.

Pure. The table is ``inet shieldwall`` and nothing else is ever named. Single
addresses go to hash sets with kernel-side timeouts (``block_v4``,
``block_v6``); ranges to interval sets (``range_v4``, ``range_v6``), because one
add to a large interval set is orders of magnitude slower than to a hash set.
One ``input`` chain, hooked just before the usual ``filter`` priority, drops
traffic from all four sets.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from shieldwall.addresses import IPNetwork, network_target
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.plan import Plan
from shieldwall.errors import EnforcerError

FAMILY = "inet"
TABLE = "shieldwall"
CHAIN = "input"
#: Runs before the conventional ``filter`` priority (0) of other tables.
PRIORITY = -10

#: set name -> (element type, flags)
SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "block_v4": ("ipv4_addr", ("timeout",)),
    "block_v6": ("ipv6_addr", ("timeout",)),
    "range_v4": ("ipv4_addr", ("interval", "timeout")),
    "range_v6": ("ipv6_addr", ("interval", "timeout")),
}
#: The chain's rules, in order: (payload protocol, set name); each drops.
RULES: tuple[tuple[str, str], ...] = (
    ("ip", "block_v4"),
    ("ip", "range_v4"),
    ("ip6", "block_v6"),
    ("ip6", "range_v6"),
)


_SET_NAMES = {
    (False, False): "block_v4",
    (False, True): "block_v6",
    (True, False): "range_v4",
    (True, True): "range_v6",
}


def set_for(target: str) -> str:
    """Name of the set a canonical target belongs in."""
    return _SET_NAMES["/" in target, ":" in target]


def _timeout(until: float, now: float) -> str | None:
    """`` timeout <ms>ms`` for an expiry, ``""`` for none, ``None`` if already expired."""
    if math.isinf(until):
        return ""
    ms = math.ceil((until - now) * 1000)
    if ms < 1:
        return None  # expired: adding it would only make the kernel drop it again
    return f" timeout {ms}ms"


def _group(blocks: Iterable[Block], now: float) -> dict[str, list[str]]:
    """Element texts per set, expired blocks left out.

    The hot loop of a million-element batch: timeouts are memoised per expiry
    (imports and bulk decisions share a handful of them).
    """
    groups: dict[str, list[str]] = {name: [] for name in SETS}
    suffixes: dict[float, str | None] = {}
    for block in blocks:
        until = block.until
        if until in suffixes:
            suffix = suffixes[until]
        else:
            suffix = suffixes[until] = _timeout(until, now)
        if suffix is not None:
            target = block.target
            groups[set_for(target)].append(target + suffix)
    return groups


def _group_targets(targets: Iterable[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {name: [] for name in SETS}
    for target in targets:
        groups[set_for(target)].append(target)
    return groups


def _element_lines(verb: str, groups: dict[str, list[str]]) -> list[str]:
    return [
        f"{verb} element {FAMILY} {TABLE} {name} {{ {', '.join(items)} }}"
        for name, items in groups.items()
        if items
    ]


def render_skeleton() -> str:
    """The table with its sets and chain, and no elements."""
    lines = [f"table {FAMILY} {TABLE} {{"]
    for name, (kind, flags) in SETS.items():
        lines.append(f"\tset {name} {{\n\t\ttype {kind}\n\t\tflags {', '.join(flags)}\n\t}}")
    lines.append(f"\tchain {CHAIN} {{\n\t\ttype filter hook input priority {PRIORITY}; policy accept;")
    for proto, name in RULES:
        lines.append(f"\t\t{proto} saddr @{name} counter drop")
    lines.append("\t}\n}")
    return "\n".join(lines)


def render_table(blocks: Iterable[Block], now: float) -> str:
    """A batch that replaces the whole table atomically with one holding ``blocks``.

    ``add table`` first makes the following ``delete`` valid when the table does
    not exist yet; the kernel applies the batch as one transaction, so traffic
    never sees a half-built table.
    """
    lines = [f"add table {FAMILY} {TABLE}", f"delete table {FAMILY} {TABLE}", render_skeleton()]
    lines.extend(_element_lines("add", _group(blocks, now)))
    return "\n".join(lines) + "\n"


def render_plan(plan: Plan, now: float) -> str:
    """One batch for ``plan``: removals first, then range replacement, then additions.

    A removal is written ``add`` then ``delete``: deleting an element the kernel
    already expired would fail the whole transaction, and adding an existing
    element is a no-op, so the pair removes it whether or not it is still there.
    (For ranges, that pair must not be followed by an overlapping add in the same
    batch; plans from :mod:`plan` use ``ranges`` for that case.)
    """
    if plan.rebuild:
        return render_table(plan.add, now)
    removals = _group_targets(plan.remove)
    lines = _element_lines("add", removals) + _element_lines("delete", removals)
    if plan.ranges is not None:
        lines.extend(f"flush set {FAMILY} {TABLE} {name}" for name in SETS if "range" in name)
        lines.extend(_element_lines("add", _group(plan.ranges, now)))
    lines.extend(_element_lines("add", _group(plan.add, now)))
    return "\n".join(lines) + ("\n" if lines else "")


def render_uninstall() -> str:
    """A batch that removes Shieldwall's table (and only it) if it exists."""
    return f"add table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"


def render_list() -> str:
    """The command that lists the table (run with JSON output)."""
    return f"list table {FAMILY} {TABLE}"


@dataclass(frozen=True, slots=True)
class TableState:
    """What ``nft -j list table inet shieldwall`` showed.

    ``elements`` maps canonical target -> until (``inf`` without timeout);
    ``problems`` lists every way the table differs from the one we render (an
    empty tuple means intact); ``drops`` counts packets dropped per set.
    """

    elements: dict[str, float]
    problems: tuple[str, ...]
    drops: dict[str, int]

    @property
    def intact(self) -> bool:
        """True when sets, chain and rules are exactly ours."""
        return not self.problems


def _element_target(value: Any) -> str:
    if isinstance(value, str):
        if ":" in value:
            return str(ipaddress.IPv6Address(value))
        return value
    if isinstance(value, dict) and "prefix" in value:
        net = ipaddress.ip_network(f"{value['prefix']['addr']}/{value['prefix']['len']}")
        return network_target(net)
    if isinstance(value, dict) and "range" in value:
        low, high = (ipaddress.ip_address(v) for v in value["range"])
        nets: list[IPNetwork] = list(ipaddress.summarize_address_range(low, high))
        if len(nets) == 1:
            return network_target(nets[0])
        return f"{low}-{high}"  # not something we add; reconcile removes it as written
    raise EnforcerError(f"unexpected element in nft output: {value!r}")


def _parse_elements(raw: list[Any], now: float, out: dict[str, float]) -> None:
    for item in raw:
        if isinstance(item, dict) and "elem" in item:
            elem = item["elem"]
            target = _element_target(elem["val"])
            if "expires" in elem:
                out[target] = now + float(elem["expires"])
            elif "timeout" in elem:
                out[target] = now + float(elem["timeout"])
            else:
                out[target] = math.inf
        else:
            out[_element_target(item)] = math.inf


def _rule_shape(expr: list[Any]) -> tuple[str, str] | None:
    """``(protocol, set)`` for a rule shaped ``<proto> saddr @set counter drop``."""
    if len(expr) != 3 or "drop" not in expr[2] or "counter" not in expr[1]:
        return None
    match = expr[0].get("match")
    if not isinstance(match, dict) or match.get("op") != "==":
        return None
    payload = match.get("left", {}).get("payload", {})
    right = match.get("right")
    if payload.get("field") != "saddr" or not isinstance(right, str) or not right.startswith("@"):
        return None
    return str(payload.get("protocol")), right[1:]


def parse_table(listing: str | bytes, now: float) -> TableState:
    """Parse ``nft -j list table inet shieldwall`` (or ``list ruleset``) output.

    Objects of other tables are ignored: we read only what is ours.
    """
    try:
        doc = msgspec.json.decode(listing)
        items = doc["nftables"]
    except (msgspec.DecodeError, KeyError, TypeError):
        raise EnforcerError("nft returned output that is not nftables JSON") from None
    ours = [
        (kind, body)
        for item in items
        for kind, body in item.items()
        if isinstance(body, dict)
        and body.get("family") == FAMILY
        and (body.get("table") == TABLE or (kind == "table" and body.get("name") == TABLE))
    ]
    problems: list[str] = []
    elements: dict[str, float] = {}
    drops: dict[str, int] = {}
    if not any(kind == "table" for kind, _ in ours):
        return TableState({}, (f"table {FAMILY} {TABLE} is missing",), {})
    seen_sets: set[str] = set()
    chains: list[dict[str, Any]] = []
    rules: list[tuple[str, str] | None] = []
    for kind, body in ours:
        if kind == "set":
            name = body["name"]
            expected = SETS.get(name)
            flags = tuple(body.get("flags", ()))
            if expected is None:
                problems.append(f"unexpected set {name}")
                continue
            seen_sets.add(name)
            if body.get("type") != expected[0] or set(flags) != set(expected[1]):
                problems.append(f"set {name} has type {body.get('type')} flags {list(flags)}")
            _parse_elements(body.get("elem", []), now, elements)
        elif kind == "chain":
            chains.append(body)
        elif kind == "rule":
            shape = _rule_shape(body.get("expr", []))
            if body.get("chain") != CHAIN:
                shape = None
            rules.append(shape)
            if shape is not None:
                counter = body["expr"][1]["counter"]
                drops[shape[1]] = drops.get(shape[1], 0) + int(counter.get("packets", 0))
    problems.extend(f"set {name} is missing" for name in SETS if name not in seen_sets)
    if [c.get("name") for c in chains] != [CHAIN]:
        problems.append(f"chains are {[c.get('name') for c in chains]}, expected [{CHAIN!r}]")
    for chain in chains:
        if chain.get("name") == CHAIN and (
            chain.get("type"),
            chain.get("hook"),
            chain.get("prio"),
            chain.get("policy"),
        ) != ("filter", "input", PRIORITY, "accept"):
            problems.append(f"chain {CHAIN} is not a filter/input/{PRIORITY}/accept base chain")
    if rules != list(RULES):
        missing = [f"@{s}" for p, s in RULES if (p, s) not in rules]
        extra = len([r for r in rules if r is None or r not in RULES])
        problems.append(f"rules differ (missing {missing}, {extra} unexpected)")
    return TableState(elements, tuple(problems), drops)
