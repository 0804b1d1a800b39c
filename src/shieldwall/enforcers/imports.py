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

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from shieldwall.addresses import RESERVED, Ranges, Target, parse_target
from shieldwall.errors import AddressError

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


def screen_target(target: Target, never_block: Ranges) -> str | None:
    """Why ``target`` must not be blocked from a feed, or ``None`` if it may be."""
    if RESERVED.touches(target.version, target.low, target.high):
        return REASON_RESERVED
    if target.prefixlen < MIN_PREFIX[target.version]:
        return REASON_WIDE
    label = never_block.protecting_span(target.version, target.low, target.high)
    if label is not None:
        return f"protected ({label})"
    return None


def screen_blocklist(lines: Iterable[str], never_block: Ranges, min_count: int = 1) -> ImportReport:
    """Parse and screen a blocklist; entries with a count below ``min_count`` are refused.

    Entries are parsed by :func:`shieldwall.addresses.parse_target`: the fast path
    for plain canonical addresses (most of a feed), the strict parser for the rest.
    """
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
        try:
            target = parse_target(word)
        except AddressError:
            refuse(REASON_INVALID, word)
            continue
        reason = screen_target(target, never_block)
        if reason is not None:
            refuse(reason, word)
        elif target.text in accepted:
            duplicates += 1
        else:
            accepted[target.text] = None
    return ImportReport(tuple(accepted), refused, duplicates, examples)
