"""``--pack auto``: which packs fit a file, judged from its lines, with the reason.

A pack fits when one of its patterns matches a line (the surest sign), or when
one of its ``detect`` literals appears in a line that has the pack's line shape -
the syslog header followed by the pack's program name, or an access-log line.
The shape check keeps a literal quoted inside some other service's line (a URL in
a web log that contains ``sshd[``, say) from choosing a pack that can never match
the file.

:class:`PackSniffer` watches a whole file go by, chunk after chunk, so that a
file whose first megabytes hold only other services' lines (a ``/var/log/secure``
that starts with sudo and cron) still gets its pack: until some pack fits, every
chunk is judged whole; afterwards the packs not chosen yet are still looked for,
in the first :data:`SNIFF_BYTES` of each later chunk, so that a mixed syslog file
gets every service that appears in it at a bounded cost. A file whose chosen pack
is of a format a service writes to a file of its own (an access or error log, see
:class:`~shieldwall.events.patterns.LineFormat`) is that service's alone: once such
a pack is chosen, nothing more is looked for - unless the line that chose it came
through syslog (a web server logging to syslog shares the file with other programs).
``detect`` literals are a necessary sign: a pack none of whose literals occurs in a
chunk is not tried on it (a substring search costs a fraction of a regex scan).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from shieldwall.events.packs import PackSpec
from shieldwall.events.patterns import FORMATS, SYSLOG_START, Scanner

#: How much of a chunk is looked at once some pack was chosen (and by choose_packs).
SNIFF_BYTES = 64 * 1024
#: Judge whole chunks (rather than their first SNIFF_BYTES) until this much was read.
SNIFF_WHOLE = 1024 * 1024


def line_shape(pack: PackSpec) -> re.Pattern[bytes]:
    """A regex for the start of a line of ``pack``'s format and program (header only)."""
    fmt = FORMATS[pack.format]
    anchor = fmt.anchor.replace("{program}", pack.program)
    # Only the line's start is checked; the head and anchor compile on their own
    # (their named groups, conditionals included, are used by nothing else here).
    return re.compile(b"^(?:" + (fmt.head + anchor).encode() + b")", re.MULTILINE)


def complete_lines(sample: bytes) -> bytes:
    """The sample up to its last newline (a cut last line is not judged)."""
    end = sample.rfind(b"\n")
    return sample if end < 0 else sample[: end + 1]


@dataclass(frozen=True)
class Choice:
    """A pack chosen for a file, and why (said on stderr by ``replay``)."""

    pack: PackSpec
    #: 1-based number, in the file, of the line that chose it.
    line: int
    reason: str

    def describe(self) -> str:
        """``sshd (line 3 matches its pattern failed_auth)``."""
        return f"{self.pack.name} (line {self.line} {self.reason})"


class _Candidate:
    def __init__(self, pack: PackSpec) -> None:
        self.pack = pack
        self.own_file = FORMATS[pack.format].own_file
        literals = [literal.encode() for literal in pack.detect]
        # The program name without what follows it in a BSD header ("sshd[",
        # "dovecot: "): an RFC 5424 header writes "sshd 123 - -" instead.
        self.stems = tuple(dict.fromkeys(lit.rstrip(b"[(: ") or lit for lit in literals))
        # What a line of the pack holds for sure: a literal as written, or a stem and the
        # space after it (RFC 5424). A bare stem is not enough: "auth" is in every sshd
        # log ("authentication failure"), and each chunk it let through cost a regex scan
        # of its sample - a sixth of an sshd replay.
        needles = []
        for literal in literals:
            stem = literal.rstrip(b"[(: ") or literal
            needles += [literal] if stem == literal else [literal, stem + b" "]
        self.needles = tuple(dict.fromkeys(needles))

    # Compiled when first needed: most candidates are ruled out by their literals for
    # a whole file, and compiling every pack's regex would cost a replay a tenth of a second.
    @functools.cached_property
    def scanner(self) -> Scanner:
        return Scanner(self.pack)

    @functools.cached_property
    def shape(self) -> re.Pattern[bytes]:
        return line_shape(self.pack)

    def fit(self, data: bytes) -> tuple[int, str] | None:
        """(offset of the line in ``data``, reason) when the pack fits ``data``."""
        if self.needles and not any(needle in data for needle in self.needles):
            # A pack's literals name its program: without one, no line of it.
            return None
        for m in self.scanner.matches(b"\n" + data):
            name = self.pack.patterns[self.scanner.slots[m.lastindex or 0][0]].name
            return m.start(), f"matches its pattern {name}"
        for m in self.shape.finditer(data):
            end = data.find(b"\n", m.start())
            line = data[m.start() : end if end >= 0 else len(data)]
            for stem in self.stems:
                if stem in line:
                    return m.start(), f"has its header and names it ({stem.decode(errors='replace')!r})"
        return None


class PackSniffer:
    """Chooses packs for one file while its chunks of complete lines go by."""

    def __init__(self, packs: Sequence[PackSpec]) -> None:
        self._left = [_Candidate(p) for p in packs]
        self.chosen: list[Choice] = []
        #: Whether some chunk was judged on its first SNIFF_BYTES only (a pack fitting
        #: only further on in such a chunk was not looked for: replay says so).
        self.sampled = False
        self._bytes = 0
        self._lines = 0

    @property
    def searching(self) -> bool:
        """Whether some pack may still be chosen."""
        return bool(self._left)

    def observe(self, chunk: bytes, lines_before: int | None = None) -> list[Choice]:
        """The packs this chunk (complete lines) newly chooses, in the given order.

        ``lines_before`` is how many lines of the file came before ``chunk``, when the
        caller counts them anyway (replay's streams do): counting a chunk's newlines
        again costs a seventh of a web replay. Without it the sniffer counts.
        """
        if not self._left:
            return []
        if lines_before is not None:
            self._lines = lines_before
        whole = not self.chosen or self._bytes < SNIFF_WHOLE
        data = chunk if whole else complete_lines(chunk[:SNIFF_BYTES])
        self.sampled |= len(data) < len(chunk)
        new: list[Choice] = []
        # A web server's own access or error log holds no other program's lines: its
        # packs are tried first, and once one fits nothing more is looked for, in this
        # chunk or later (looking on would cost a web replay a seventh and find none).
        for candidate in sorted(self._left, key=lambda c: not c.own_file):
            found = candidate.fit(data)
            if found is not None:
                offset, reason = found
                line = self._lines + data.count(b"\n", 0, offset) + 1
                new.append(Choice(candidate.pack, line, reason))
                self._left.remove(candidate)
                # An access line that came through syslog sits among other programs' lines.
                if candidate.own_file and not SYSLOG_START.match(data, offset):
                    self._left = []
                    break
        self._bytes += len(chunk)
        if lines_before is None:
            self._lines += chunk.count(b"\n")
        self.chosen += new
        return new


def pack_fits(pack: PackSpec, sample: bytes) -> bool:
    """Whether ``pack`` fits the lines in ``sample`` (see the module docstring)."""
    return _Candidate(pack).fit(sample) is not None


def choose_packs(
    sample: bytes, packs: Sequence[PackSpec], *, whole_file: bool = False
) -> list[PackSpec]:
    """The packs, in the given order, that fit the first bytes of a file.

    ``whole_file`` says the sample is the entire file, so its last line is
    complete even without a newline.
    """
    lines = sample if whole_file and len(sample) <= SNIFF_BYTES else complete_lines(sample[:SNIFF_BYTES])
    return [pack for pack in packs if pack_fits(pack, lines)]
