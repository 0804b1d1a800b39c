r"""Compile a pack into one scanner over buffers of complete lines.

All patterns of a pack become a single regex per line:
``\n`` + head (timestamp, host) + anchor (program name, or ``] "``) + the
alternation of the patterns, each ending with an empty marker group, + the line
end. It is compiled once with :data:`re.MULTILINE` and run over a whole buffer
(with a newline put in front) by ``finditer``. The literal ``\n`` in front lets
the engine jump from line start to line start; lines that match nothing cost no
Python code at all; ``m.lastindex`` (the marker group, which closes last) names
the pattern.

Why the head is in the regex: a match can only start at a line start, with the
header the logging system writes, followed at once by the program name. Text a
client controls (a user name carrying ``sshd[1]: Failed password ... from A``)
sits after that and can never be taken for a line of its own.

Why a match never spans lines: :meth:`Scanner.matches` cuts back to its own line
any match that ran over a newline (a pattern with ``[^"]*`` or ``\s`` can), so a
line can never end on, hide, or blame with, the text of the lines after it.

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

_TS_BSD = r"[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})?"
_TS_ISO = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"
_TS_SYSLOG = _TS_BSD + "|" + _TS_ISO


@dataclass(frozen=True)
class LineFormat:
    """How a format's lines start: ``head`` from the line start, then ``anchor``.

    ``head`` holds the ``ts`` group (and, for access logs, the ``ip`` group: the
    client address the server writes first); ``anchor`` is what comes between
    the head and a pattern (the program name and pid, or ``] "``); ``trailer``
    ends the line. ``own_file`` says the service writes these lines to a file of its
    own (a web server's access or error log), where no other program's lines appear;
    syslog-shaped files mix programs (an access line that came through syslog too: see
    :data:`SYSLOG_START`).
    """

    head: str
    anchor: str
    trailer: str
    own_file: bool = False


#: RFC 5424's MSGID and STRUCTURED-DATA (``-`` or ``[id k="v" ...]...``), then an
#: optional BOM before the message. A value ends at its first ``"`` not escaped by a
#: backslash; a ``]`` inside it is read as text, escaped (as RFC 5424 asks) or not (as
#: some syslog libraries write it: ``test="[brackets]"``). The structured data is the
#: logging system's, written before the message, so leniency here lets no client text
#: in: the message, where client text is, starts after it either way.
_RFC5424_TAIL = (
    r' [!-~]{1,32} (?:-|(?:\[[^\s=\]"]{1,32}(?: [^\s=\]"]{1,32}="(?:[^"\\\n]++|\\[^\n])*+")*+\])++) '
    "(?:\ufeff)?"
)

#: After the syslog header: the program and its pid (BSD, or RFC 5424's PROCID etc.).
#: proftpd's own log has no colon after [pid]; then the pid is required. RFC 5424's
#: PROCID is its own group (pid5): one alternation, no conditionals, costs the BSD
#: lines nothing.
_SYSLOG_ANCHOR = (
    r"(?:{program})(?:\[(?P<pid>\d{1,10})\]:? |: | (?P<pid5>\d{1,10})" + _RFC5424_TAIL
    + r"| -" + _RFC5424_TAIL + r")"
    r"(?:\[ID \d{1,10} [\w.]{1,40}\] )?"
    r"(?:message repeated (?P<rep>\d{1,9}) times: \[ ?)?"
)
_SYSLOG_TRAILER = r"(?: ?\])?[ \t]*\r?$"

#: A syslog header in front of a web server's line (nginx's ``access_log syslog:...``,
#: Apache's ``CustomLog "|/usr/bin/logger -t apache2"``): the syslog daemon's timestamp
#: and host, then a web server's tag - only a web server's, so that no other program's
#: message can pose as an access-log line.
#: (Each timestamp form is its own branch, with no PRI: a head that starts with an
#: optional group of its own made the web bench's events stage 7-14 % slower.)
_WEB_TAG = r" (?:\S{1,255} )?(?:nginx|apache2?|httpd)(?:\[\d{1,10}\])?: "
_VIA_SYSLOG = _TS_BSD + _WEB_TAG + "|" + _TS_ISO + _WEB_TAG
#: A line that starts with a syslog header: a file of such lines mixes programs.
SYSLOG_START = re.compile(rb"(?:<\d{1,3}>(?:1 )?)?(?:" + _TS_SYSLOG.encode() + rb") ")

FORMATS: dict[str, LineFormat] = {
    # BSD:      <PRI>? timestamp [host] program[pid]: [Solaris ID] [rsyslog repeat] message
    # RFC 5424: <PRI>1 timestamp host program procid msgid structured-data message
    "syslog": LineFormat(
        head=r"(?:<\d{1,3}>(?:1 )?)?(?P<ts>" + _TS_SYSLOG + r") (?:\S{1,255} )?",
        anchor=_SYSLOG_ANCHOR,
        trailer=_SYSLOG_TRAILER,
    ),
    # vsftpd: its own log file (`vsftpd_log_file`, written when syslog_enable=NO, the
    # default): `Fri Jan 19 12:20:33 2007 [pid 27202] [user] FAIL LOGIN: Client "A"`, a
    # ctime stamp with the year last and the pid, both written by vsftpd before any
    # client text; or the same messages through syslog (the syslog format's header and
    # anchor, RFC 5424 included). Which form a line has is decided by its first bytes:
    # a ctime stamp starts with the weekday, a BSD one with the month, an ISO one with
    # a digit.
    "vsftpd": LineFormat(
        head=(
            r"(?:<\d{1,3}>(?:1 )?)?(?P<ts>(?P<vts>[A-Z][a-z]{2} [A-Z][a-z]{2} {1,2}\d{1,2} "
            r"\d\d:\d\d:\d\d \d{4})|" + _TS_SYSLOG + r") "
        ),
        anchor=r"(?(vts)\[pid \d{1,10}\] |(?:\S{1,255} )?" + _SYSLOG_ANCHOR + ")",
        trailer=_SYSLOG_TRAILER,
    ),
    # Combined / common log format: the client address comes first, written by
    # the server; everything from the request on is client text. Optionally the
    # whole line in quotes (some shippers), and a virtual host first (Apache's
    # vhost_combined `%v:%p`, nginx's `$host`): a host name or address and maybe a
    # port, then the client. Which field is the client cannot be confused: the
    # field after the client is the ident `-`, never an address, so a line reads
    # one way only (a vhost that is itself an address included). The line may also come
    # through syslog (_VIA_SYSLOG in front: the header is the logging system's, the
    # access line after it the server's, as in its own file).
    "access": LineFormat(
        head=(
            r"(?:" + _VIA_SYSLOG + r")?"
            # The vhost is tried only when the line does not read without one (a lazy
            # `??`): ordinary lines cost nothing more.
            r'"?(?:\S{1,260}+ )??'
            r"(?P<ip>" + ADDR + r") \S{1,256} \S{1,256} "
            r"\[(?P<ts>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})"
        ),
        anchor=r'\] "',
        trailer=r"[ \t]*\r?$",
        own_file=True,
    ),
    # Exim's own main log (`2024-05-06 07:08:09[.123] [+0200] [pid] [message id] message`)
    # or Exim through syslog (`... host exim[pid]: [exim's own time] message`, the
    # journal form included). Exim's lines need no connection id (every pattern is
    # a request), so neither form captures one.
    "exim": LineFormat(
        head=(
            r"(?:<\d{1,3}>(?:1 )?)?(?P<ts>(?P<xts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})?(?: [+-]\d{4})?)"
            r"|" + _TS_SYSLOG + r") "
        ),
        anchor=(
            r"(?(xts)|(?:\S{1,255} )?(?:{program})(?:\[\d{1,10}\])?: "
            r"(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{3})? )?)"
            r"(?:\[\d{1,10}\] )?(?:[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4} )?"
        ),
        trailer=r"[ \t]*\r?$",
    ),
    # nginx's error log: `2024/10/10 13:55:36 [error] 1234#1234: *5678 message`. The
    # client is written *inside* the message (`, client: A, server: ...`), with
    # client text on both sides of it: the packs read a line only when it holds
    # that field once (see packs/nginx-error.toml).
    "nginx_error": LineFormat(
        head=(
            r"(?P<ts>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) "
            r"\[(?:debug|info|notice|warn|error|crit|alert|emerg)\] \d{1,10}#\d{1,10}: "
            r"(?:\*\d{1,20} )?"
        ),
        anchor="",
        trailer=r"[ \t]*\r?$",
        own_file=True,
    ),
    # Apache 2.2/2.4's error log: `[ctime] [module:level] [pid P:tid T] [client A:port]
    # message`. The client is in the header, written by Apache before any client
    # text; its port is the last `:digits` (an IPv6 address has colons of its own).
    # Or the same lines through syslog (`ErrorLog syslog:local1`): the syslog header and
    # Apache's tag instead of the bracketed ctime stamp, the rest as in Apache's own file.
    "apache_error": LineFormat(
        head=(
            # `[ctime] `, or a syslog timestamp, host and tag: one `ts` group for either.
            r"(?:<\d{1,3}>)?(?P<bracket>\[)?(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} {1,2}\d{1,2} "
            r"\d\d:\d\d:\d\d(?:\.\d{1,6})? \d{4}|" + _TS_SYSLOG + r")"
            r"(?(bracket)\] | (?:\S{1,255} )?(?:httpd(?:/[\w.-]{1,40})?|apache2?)(?:\[\d{1,10}\])?: )"
            r"\[(?:[\w-]{0,40}:)?(?:emerg|alert|crit|error|warn|notice|info|debug|trace\d)\] "
            r"(?:\[pid \d{1,10}(?::tid \d{1,20})?\] )?"
            # `[client A:port]`, `[client [v6]:port]`; `[remote A:port]` when Apache names the
            # connection's peer (mod_remoteip) instead.
            r"\[(?:client|remote) \[?(?P<ip>[0-9A-Fa-f:.]{2,45}?)\]?(?::\d{1,5})?\] "
        ),
        anchor="",
        trailer=r"[ \t]*\r?$",
        own_file=True,
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
        if len(alternatives) == 1:
            # A group that never takes part in a match (see unset_groups).
            alternatives.append("(?P<unset>)(?!)")
        source = r"\n" + fmt.head + anchor + "(?:" + "|".join(alternatives) + ")" + fmt.trailer
        try:
            self.regex = re.compile(source.encode(), re.MULTILINE)
        except re.error as exc:
            raise PackError(f"{where}: patterns do not compile: {exc}") from None
        groups = self.regex.groupindex
        #: Per group number: (pattern index, group of ip, group of user), 0 = absent.
        #: A list indexed by ``m.lastindex`` (only marker groups are ever last).
        self.slots: list[tuple[int, int, int]] = [(-1, 0, 0)] * (self.regex.groups + 1)
        for index in range(len(spec.patterns)):
            self.slots[groups[f"p_{index}"]] = (
                index,
                groups.get(f"ip_{index}", 0),
                groups.get(f"user_{index}", 0),
            )
        self.ts_group: int = groups["ts"]
        #: The head's address group (access logs), 0 when the head has none.
        self.head_ip_group: int = groups.get("ip", 0)
        self.pid_group: int = groups.get("pid", 0)
        #: RFC 5424's PROCID: the connection id when ``pid`` is unset.
        self.pid5_group: int = groups.get("pid5", 0)
        self.rep_group: int = groups.get("rep", 0)
        #: Per pattern: a group that is None whenever that pattern matched (the
        #: marker of another pattern: only one alternative takes part in a
        #: match), so that a hot loop can fetch all fields of a line in one
        #: ``m.group(...)`` call, pointing the fields a pattern lacks at it.
        other = [groups["p_1"] if len(spec.patterns) > 1 else groups["unset"], groups["p_0"]]
        self.unset_groups: list[int] = [other[min(i, 1)] for i in range(len(spec.patterns))]

    def matches(self, data: bytes) -> Iterator[re.Match[bytes]]:
        """One match per matching line of ``data`` (which starts with ``\\n``).

        A pattern that can consume a newline (``[^"]*``, ``\\s``) could run on
        into the next lines and end on a later line's text: that later line
        would be hidden, and its address could be blamed for this line. Such a
        match is cut back to its own line (matched alone, or dropped) and the
        scan goes on from the next line.
        """
        finditer, match, find = self.regex.finditer, self.regex.match, data.find
        pos = 0
        while True:
            for m in finditer(data, pos):
                start = m.start()
                if find(b"\n", start + 1, m.end()) < 0:
                    yield m
                    continue
                line_end = find(b"\n", start + 1)
                alone = match(data, start, line_end)
                if alone is not None:
                    yield alone
                pos = line_end
                break
            else:
                return

    def scan(self, buffer: bytes) -> Iterator[RawMatch]:
        """Yield one :data:`RawMatch` per matching line of ``buffer``.

        ``buffer`` holds complete lines; a last line without a newline is fine.
        The event stream has its own fused copy of this loop (see
        :meth:`shieldwall.events.stream.EventStream.feed`); this one serves
        ``patterns test`` and the tests.
        """
        slots = self.slots
        ts_group, ip_head = self.ts_group, self.head_ip_group
        pid_group, pid5_group, rep_group = self.pid_group, self.pid5_group, self.rep_group
        data = b"\n" + buffer
        for m in self.matches(data):
            index, ip_group, user_group = slots[m.lastindex or 0]
            ip_group = ip_group or ip_head
            rep = m.group(rep_group) if rep_group else None
            pid = m.group(pid_group) if pid_group else None
            if pid is None and pid5_group:
                pid = m.group(pid5_group)
            yield (
                index,
                m.group(ts_group),
                m.group(ip_group) if ip_group else None,
                m.group(user_group) if user_group else None,
                pid,
                int(rep) if rep else 1,
                data[m.start() + 1 : m.end()],
            )

    def match_line(self, line: bytes) -> RawMatch | None:
        """Match a single line (``patterns test``); ``None`` when nothing matches."""
        for raw in self.scan(line.rstrip(b"\n")):
            return raw
        return None
