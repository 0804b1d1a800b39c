"""Trying packs on lines: what each line matched and whom it blames.

The pure half of ``shieldwall patterns test`` and ``patterns check``: lines in,
one :class:`LineResult` per line out (connection accounting included, so a line
that only repeats an attempt already counted says so), and the samples of a
pack checked against their annotations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from shieldwall.addresses import DEFAULT_IPV6_PREFIX, blame_key_from_text
from shieldwall.events.autodetect import line_shape
from shieldwall.events.packs import PackSpec, Sample
from shieldwall.events.patterns import Scanner
from shieldwall.events.stream import EventStream

#: Why a matched line blames nobody.
NOT_AN_ADDRESS = "not an address (host names are never resolved)"
ALREADY_COUNTED = "already counted with its connection"
CONNECTION_RECORD = "connection record: remembered, counts nothing"
NO_ADDRESS = "names no address, and no earlier line of its connection did"
NOT_MARKED = "counts only for a connection an earlier line marked, once"


@dataclass(frozen=True)
class LineResult:
    """What one line of a trial produced."""

    number: int
    line: bytes
    #: Pack and pattern that matched, or ``None`` when nothing did.
    pack: str | None = None
    pattern: str | None = None
    kind: str | None = None
    #: The key counted (an address, or an IPv6 prefix), when the line counted.
    blamed: str | None = None
    weight: int = 0
    #: Why a matched line counted nothing (see the constants above).
    reason: str = ""
    #: For a line that matched nothing: the pack whose line header it has (a
    #: line of that service no pattern knows), or ``None`` (another program).
    looks_like: str | None = None


class Trial:
    """Runs packs over lines in order, as the agent would, one line at a time."""

    def __init__(
        self, packs: Iterable[PackSpec], *, year: int, ipv6_prefix: int = DEFAULT_IPV6_PREFIX
    ) -> None:
        self._runs = [
            (pack, Scanner(pack), EventStream(pack, year=year, ipv6_prefix=ipv6_prefix))
            for pack in packs
        ]
        self._shapes = [(pack.name, line_shape(pack)) for pack, _, _ in self._runs]
        self.ipv6_prefix = ipv6_prefix

    def line(self, number: int, line: bytes) -> LineResult:
        """Feed one line (without its newline) to every pack; the first that matches names it."""
        first: LineResult | None = None
        for pack, scanner, stream in self._runs:
            events = stream.feed(line)
            if first is not None:
                continue  # still fed, so that every pack's connection state stays right
            raw = scanner.match_line(line)
            if raw is None:
                continue
            spec = pack.patterns[raw[0]]
            if events:
                first = LineResult(
                    number, line, pack.name, spec.name, spec.kind, events[0].key,
                    sum(e.weight for e in events),
                )
                continue
            why = self._why(spec.role, raw[2])
            first = LineResult(number, line, pack.name, spec.name, spec.kind, reason=why)
        if first is not None:
            return first
        looks_like = next((name for name, shape in self._shapes if shape.match(line)), None)
        return LineResult(number, line, looks_like=looks_like)

    def _why(self, role: str, address: bytes | None) -> str:
        if role in ("connect", "mark"):
            return CONNECTION_RECORD
        if role == "marked":
            return NOT_MARKED
        if address is None:
            return NO_ADDRESS
        if blame_key_from_text(address.decode("ascii", "replace"), self.ipv6_prefix) is None:
            return NOT_AN_ADDRESS
        return ALREADY_COUNTED

    def run(self, lines: Iterable[bytes]) -> Iterator[LineResult]:
        """One result per line; lines may end with ``\\n`` or ``\\r\\n``."""
        for number, line in enumerate(lines, start=1):
            yield self.line(number, line.rstrip(b"\r\n"))


@dataclass(frozen=True)
class SampleMismatch:
    """A sample that does not behave as annotated."""

    pack: str
    index: int
    sample: Sample
    blamed: str | None
    pattern: str | None
    user: str | None

    def describe(self) -> str:
        want = f"blame {self.sample.ip or 'nobody'}"
        if self.sample.pattern:
            want += f" via {self.sample.pattern}"
        if self.sample.user is not None:
            want += f" (user {self.sample.user!r})"
        got = f"blamed {self.blamed or 'nobody'}" + (f" via {self.pattern}" if self.pattern else "")
        if self.sample.user is not None:
            got += f" (user {self.user!r})"
        return f"{self.pack} sample {self.index}: wanted {want}, {got}: {self.sample.line[:200]!r}"


def check_samples(pack: PackSpec, *, year: int = 2024) -> list[SampleMismatch]:
    """Feed each sample to a fresh stream; return those that differ from their annotation.

    A sample may hold several lines (a connection's earlier lines give a later
    one its address); the first event it produces is compared.
    """
    mismatches = []
    for index, sample in enumerate(pack.samples):
        events = EventStream(pack, year=year).feed(sample.line.encode("utf-8", "surrogateescape"))
        blamed = events[0].key if events else None
        pattern = events[0].pattern if events else None
        user = events[0].user if events else None
        if (
            blamed != sample.ip
            or (sample.pattern is not None and pattern != sample.pattern)
            or (sample.user is not None and user != sample.user)
        ):
            mismatches.append(SampleMismatch(pack.name, index, sample, blamed, pattern, user))
    return mismatches
