"""Public blocklists: parse the common formats and screen what may be blocked.

Pure. Recognised line shapes, mixed freely in one file:

* ``192.0.2.7`` or ``198.51.100.0/24`` (plain lists, FireHOL netsets),
* ``192.0.2.7<TAB>3`` (ipsum: address and the number of lists it is on),
* ``198.51.100.0/24 ; SBL123`` (Spamhaus DROP style trailing comment),
* blank lines and ``#`` / ``;`` comment lines.

Screening refuses private and reserved space, ranges too wide to be a sane
block, and anything overlapping the member's never-block lists, and counts each
refusal by reason so that the operator sees what a feed tried to make them do.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from shieldwall.enforcers.allowlist import Allowlist
from shieldwall.enforcers.block import network_target
from shieldwall.errors import AddressError
from shieldwall.events.address import IPNetwork, parse_network

#: Special-purpose space (RFC 6890 and successors): never blocked from a feed.
_RESERVED_TEXT = """
0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12
192.0.0.0/24 192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15
198.51.100.0/24 203.0.113.0/24 224.0.0.0/4 240.0.0.0/4
::/127 ::ffff:0:0/96 64:ff9b:1::/48 100::/64 2001::/23 2001:db8::/32 2002::/16
3fff::/20 5f00::/16 fc00::/7 fe80::/10 ff00::/8
"""
RESERVED = Allowlist.of((ipaddress.ip_network(word), "reserved") for word in _RESERVED_TEXT.split())

#: Shortest prefix accepted from a feed, per IP version.
MIN_PREFIX = {4: 8, 6: 16}

REASON_INVALID = "not an address or CIDR"
REASON_RESERVED = "private or reserved"
REASON_WIDE = "range too wide"
REASON_COUNT = "below the count threshold"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What a list held: the accepted targets, and refusals counted by reason."""

    accepted: tuple[str, ...]
    refused: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def refused_total(self) -> int:
        """Number of refused entries, all reasons together."""
        return sum(self.refused.values())

    def describe(self) -> str:
        """Human summary, one reason per line."""
        lines = [
            f"accepted {len(self.accepted)}, refused {self.refused_total}"
            + (f", duplicates {self.duplicates}" if self.duplicates else "")
        ]
        for reason, count in self.refused.most_common():
            example = self.examples.get(reason, "")
            lines.append(f"  refused {count}: {reason}" + (f" (e.g. {example})" if example else ""))
        return "\n".join(lines)


def _split(line: str) -> tuple[str, int | None] | None:
    body = line.split("#", 1)[0].split(";", 1)[0].strip()
    if not body:
        return None
    words = body.split()
    count = None
    if len(words) > 1 and words[1].isdigit():
        count = int(words[1])
    return words[0], count


def _plain_ipv4(word: str) -> int | None:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, word), "big")
    except (OSError, ValueError):
        return None


def screen_network(net: IPNetwork, allowlist: Allowlist) -> str | None:
    """Why ``net`` must not be blocked from a feed, or ``None`` if it may be."""
    if RESERVED.protects(net) is not None:
        return REASON_RESERVED
    if net.prefixlen < MIN_PREFIX[net.version]:
        return REASON_WIDE
    label = allowlist.protects(net)
    if label is not None:
        return f"protected ({label})"
    return None


def screen_blocklist(lines: Iterable[str], allowlist: Allowlist, min_count: int = 1) -> ImportReport:
    """Parse and screen a blocklist; entries with a count below ``min_count`` are refused."""
    accepted: dict[str, None] = {}
    refused: Counter[str] = Counter()
    examples: dict[str, str] = {}
    duplicates = 0

    def refuse(reason: str, text: str) -> None:
        refused[reason] += 1
        examples.setdefault(reason, text)

    for line in lines:
        parts = _split(line)
        if parts is None:
            continue
        word, count = parts
        if count is not None and count < min_count:
            refuse(REASON_COUNT, word)
            continue
        value = _plain_ipv4(word)
        if value is not None and not (
            RESERVED.touches(4, value, value) or allowlist.touches(4, value, value)
        ):
            # Fast path for the common case (a plain public IPv4 address), which
            # skips building ipaddress objects; anything else takes the full path.
            if word in accepted:
                duplicates += 1
            else:
                accepted[word] = None
            continue
        try:
            net = parse_network(word)
        except AddressError:
            refuse(REASON_INVALID, word)
            continue
        reason = screen_network(net, allowlist)
        if reason is not None:
            refuse(reason, word)
            continue
        target = network_target(net)
        if target in accepted:
            duplicates += 1
        else:
            accepted[target] = None
    return ImportReport(tuple(accepted), refused, duplicates, examples)
