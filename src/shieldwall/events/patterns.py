"""Compile a pack into one scanner over buffers of complete lines.

All patterns of a pack become a single anchored alternation behind the format's
header, compiled once with :data:`re.MULTILINE`. :meth:`Scanner.scan` runs it
over a whole buffer with ``finditer``, so lines that match nothing are skipped
inside the regex engine and cost no Python code at all; ``m.lastindex`` tells
which pattern matched.

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

_HEADERS = {
    # <PRI>? timestamp [host] program[pid]: [Solaris ID] [rsyslog repeat]
    "syslog": (
        r"^(?:<\d{1,3}>)?(?P<ts>" + _TS_SYSLOG + r") (?:\S{1,255} )?"
        r"(?:{program})(?:\[(?P<pid>\d{1,10})\])?: (?:\[ID \d{1,10} [\w.]{1,40}\] )?"
        r"(?:message repeated (?P<rep>\d{1,9}) times: \[ ?)?"
    ),
    # Combined / common log format: client address first, written by the server.
    "access": (
        r"^(?P<hip>" + ADDR + r") \S{1,256} \S{1,256} "
        r"\[(?P<ts>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    ),
}
_TRAILERS = {"syslog": r"(?: ?\])?[ \t]*\r?$", "access": r"[ \t]*\r?$"}

_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_ALLOWED_GROUPS = {"ip", "user"}


@dataclass(frozen=True, slots=True)
class RawMatch:
    """One matched line before validation and connection accounting."""

    pattern: int
    ts: bytes
    ip: bytes | None
    user: bytes | None
    conn: bytes | None
    repeat: int
    line: bytes


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
        header = _HEADERS[spec.format].replace("{program}", spec.program)
        alternatives = []
        for index, pattern in enumerate(spec.patterns):
            body = _rename_groups(pattern, index, spec.path or spec.name)
            try:
                re.compile(body)
            except re.error as exc:
                raise PackError(
                    f"{spec.path or spec.name}: pattern {pattern.name!r} is not a valid "
                    f"regex: {exc}"
                ) from None
            alternatives.append(f"(?P<p_{index}>{body})")
        source = header + "(?:" + "|".join(alternatives) + ")" + _TRAILERS[spec.format]
        try:
            self.regex = re.compile(source.encode(), re.MULTILINE)
        except re.error as exc:
            raise PackError(f"{spec.path or spec.name}: patterns do not compile: {exc}") from None
        groups = self.regex.groupindex
        # For each pattern: (group of ip, group of user); 0 means "absent".
        self._slots: dict[int, tuple[int, int, int]] = {}
        for index in range(len(spec.patterns)):
            outer = groups[f"p_{index}"]
            self._slots[outer] = (
                index,
                groups.get(f"ip_{index}", groups.get("hip", 0)),
                groups.get(f"user_{index}", 0),
            )
        self._ts = groups["ts"]
        self._pid = groups.get("pid", 0)
        self._rep = groups.get("rep", 0)

    def scan(self, buffer: bytes) -> Iterator[RawMatch]:
        """Yield one :class:`RawMatch` per matching line of ``buffer``.

        ``buffer`` holds complete lines; a last line without a newline is fine.
        """
        slots = self._slots
        ts_group, pid_group, rep_group = self._ts, self._pid, self._rep
        for m in self.regex.finditer(buffer):
            index, ip_group, user_group = slots[m.lastindex or 0]
            rep = m.group(rep_group) if rep_group else None
            yield RawMatch(
                index,
                m.group(ts_group),
                m.group(ip_group) if ip_group else None,
                m.group(user_group) if user_group else None,
                m.group(pid_group) if pid_group else None,
                int(rep) if rep else 1,
                m.group(0),
            )

    def match_line(self, line: bytes) -> RawMatch | None:
        """Match a single line (``patterns test``); ``None`` when nothing matches."""
        for raw in self.scan(line.rstrip(b"\n")):
            return raw
        return None
