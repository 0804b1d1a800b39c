"""Compile a pack into one scanner over buffers of complete lines.

All patterns of a pack become a single alternation behind the format's anchor
(see :class:`LineFormat`), compiled once with :data:`re.MULTILINE`.
:meth:`Scanner.scan` runs it over a whole buffer with ``finditer``, so lines that
match nothing are skipped inside the regex engine and cost no Python code at
all; the line's head (timestamp, host) is then checked from the line start, and
``m.lastindex`` tells which pattern matched.

Why one pattern per line end: a pattern must run to the end of the line, so a
greedy client-controlled field (a user name) can never capture the text that the
service writes after it. The address a pattern blames is therefore always the
right-most one in the position the service writes it; a user name that carries
``from 198.51.100.23 port 22`` cannot move it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from shieldwall.errors import PackError
from shieldwall.events.packs import PackSpec, PatternSpec

#: An address as a service writes it: syntax only, validated by events.address.
ADDR = r"[0-9A-Fa-f:.]{2,45}"
PORT = r"\d{1,5}"

_TS_SYSLOG = (
    r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d{1,9})?"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"
)


@dataclass(frozen=True)
class LineFormat:
    """Where a format's lines are anchored, and what precedes the anchor.

    ``anchor`` starts with literal text (the program name, or ``] "``) so that
    the regex engine can skip quickly from one candidate to the next; ``head``
    must then match exactly from the start of the line to the anchor. A
    candidate whose head does not match - the program name inside a user name,
    say - is never an event.
    """

    head: str
    anchor: str
    trailer: str


FORMATS: dict[str, LineFormat] = {
    # <PRI>? timestamp [host] program[pid]: [Solaris ID] [rsyslog repeat] message
    "syslog": LineFormat(
        head=r"(?:<\d{1,3}>)?(?P<ts>" + _TS_SYSLOG + r") (?:\S{1,255} )?",
        anchor=(
            r"(?:{program})(?:\[(?P<pid>\d{1,10})\])?: (?:\[ID \d{1,10} [\w.]{1,40}\] )?"
            r"(?:message repeated (?P<rep>\d{1,9}) times: \[ ?)?"
        ),
        trailer=r"(?: ?\])?[ \t]*\r?$",
    ),
    # Combined / common log format: the client address comes first, written by
    # the server; everything from the request on is client text.
    "access": LineFormat(
        head=(
            r"(?P<ip>" + ADDR + r") \S{1,256} \S{1,256} "
            r"\[(?P<ts>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})"
        ),
        anchor=r'\] "',
        trailer=r"[ \t]*\r?$",
    ),
}

_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_ALLOWED_GROUPS = {"ip", "user"}

#: (pattern index, timestamp, address text, user text, connection id, repeat, line)
RawMatch = tuple[int, bytes, bytes | None, bytes | None, bytes | None, int, bytes]


def expand_macros(regex: str) -> str:
    """Replace ``<ADDR>`` and ``<PORT>`` with their regular expressions."""
    return regex.replace("<ADDR>", ADDR).replace("<PORT>", PORT)


def _rename_groups(spec: PatternSpec, index: int, where: str) -> str:
    def rename(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in _ALLOWED_GROUPS:
            raise PackError(
                f"{where}: pattern {spec.name!r} uses group {name!r}; only "
                f"(?P<ip>...) and (?P<user>...) are allowed"
            )
        return f"(?P<{name}_{index}>"

    return _GROUP.sub(rename, expand_macros(spec.regex))


class Scanner:
    """The compiled form of one pack."""

    def __init__(self, spec: PackSpec) -> None:
        self.spec = spec
        where = spec.path or spec.name
        fmt = FORMATS[spec.format]
        alternatives = []
        for index, pattern in enumerate(spec.patterns):
            body = _rename_groups(pattern, index, where)
            try:
                re.compile(body)
            except re.error as exc:
                raise PackError(
                    f"{where}: pattern {pattern.name!r} is not a valid regex: {exc}"
                ) from None
            # The marker group goes last: the group that closes last names the
            # pattern (m.lastindex), and a branch that starts with a literal
            # lets the engine reject it on its first byte.
            alternatives.append(f"{body}(?P<p_{index}>)")
        anchor = fmt.anchor.replace("{program}", spec.program)
        source = anchor + "(?:" + "|".join(alternatives) + ")" + fmt.trailer
        try:
            self.regex = re.compile(source.encode(), re.MULTILINE)
            self.head = re.compile(fmt.head.encode())
        except re.error as exc:
            raise PackError(f"{where}: patterns do not compile: {exc}") from None
        groups = self.regex.groupindex
        # For each marker group: (pattern index, group of ip, group of user); 0 = absent.
        self._slots: dict[int, tuple[int, int, int]] = {}
        for index in range(len(spec.patterns)):
            self._slots[groups[f"p_{index}"]] = (
                index,
                groups.get(f"ip_{index}", 0),
                groups.get(f"user_{index}", 0),
            )
        self._pid = groups.get("pid", 0)
        self._rep = groups.get("rep", 0)
        self._head_ip = "ip" in self.head.groupindex

    def scan(self, buffer: bytes) -> Iterator[RawMatch]:
        """Yield one :data:`RawMatch` per matching line of ``buffer``.

        ``buffer`` holds complete lines; a last line without a newline is fine.
        """
        slots = self._slots
        pid_group, rep_group = self._pid, self._rep
        head_match = self.head.fullmatch
        search = self.regex.search
        rfind = buffer.rfind
        head_ip = self._head_ip
        for m in self.regex.finditer(buffer):
            start = m.start()
            line_start = rfind(b"\n", 0, start) + 1
            head = head_match(buffer, line_start, start)
            while head is None:
                # The anchor text appeared inside the line, not where the
                # service writes it: look further along the same line only.
                line_end = m.end()
                retry = search(buffer, start + 1, line_end)
                if retry is None:
                    break
                m, start = retry, retry.start()
                head = head_match(buffer, line_start, start)
            if head is None:
                continue
            index, ip_group, user_group = slots[m.lastindex or 0]
            rep = m.group(rep_group) if rep_group else None
            yield (
                index,
                head.group("ts"),
                m.group(ip_group) if ip_group else (head.group("ip") if head_ip else None),
                m.group(user_group) if user_group else None,
                m.group(pid_group) if pid_group else None,
                int(rep) if rep else 1,
                buffer[line_start : m.end()],
            )

    def match_line(self, line: bytes) -> RawMatch | None:
        """Match a single line (``patterns test``); ``None`` when nothing matches."""
        for raw in self.scan(line.rstrip(b"\n")):
            return raw
        return None
