"""``--pack auto``: which packs fit a file, judged from its first lines.

A pack fits when one of its patterns matches a line of the sample (the surest
sign), or when one of its ``detect`` literals appears in a line that has the
pack's line shape - the syslog header followed by the pack's program name, or
an access-log line. The shape check keeps a literal quoted inside some other
service's line (a URL in a web log that contains ``sshd[``, say) from choosing
a pack that can never match the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from shieldwall.events.packs import PackSpec
from shieldwall.events.patterns import FORMATS, Scanner

#: How much of a file is looked at.
SNIFF_BYTES = 64 * 1024


def line_shape(pack: PackSpec) -> re.Pattern[bytes]:
    """A regex for the start of a line of ``pack``'s format and program (header only)."""
    fmt = FORMATS[pack.format]
    anchor = fmt.anchor.replace("{program}", pack.program)
    # Only the line's start is checked: groups are renamed away so the head and
    # anchor compile on their own.
    source = re.sub(r"\(\?P<\w+>", "(?:", fmt.head + anchor)
    return re.compile(b"^(?:" + source.encode() + b")", re.MULTILINE)


def complete_lines(sample: bytes) -> bytes:
    """The sample up to its last newline (a cut last line is not judged)."""
    end = sample.rfind(b"\n")
    return sample if end < 0 else sample[: end + 1]


def pack_fits(pack: PackSpec, sample: bytes) -> bool:
    """Whether ``pack`` fits the lines in ``sample`` (see the module docstring)."""
    if next(iter(Scanner(pack).scan(sample)), None) is not None:
        return True
    if not pack.detect:
        return False
    for m in line_shape(pack).finditer(sample):
        end = sample.find(b"\n", m.start())
        line = sample[m.start() : end if end >= 0 else len(sample)]
        if any(literal.encode() in line for literal in pack.detect):
            return True
    return False


def choose_packs(
    sample: bytes, packs: Sequence[PackSpec], *, whole_file: bool = False
) -> list[PackSpec]:
    """The packs, in the given order, that fit the first bytes of a file.

    ``whole_file`` says the sample is the entire file, so its last line is
    complete even without a newline.
    """
    lines = sample if whole_file and len(sample) <= SNIFF_BYTES else complete_lines(sample[:SNIFF_BYTES])
    return [pack for pack in packs if pack_fits(pack, lines)]
