"""journald entries -> syslog-like lines, keeping only entries we can trust (pure).

``journalctl -o json`` prints one JSON object per entry. Fields whose name starts
with ``_`` are written by journald itself -- ``_PID``/``_UID``/``_GID`` from the
kernel's credentials of the sending socket, ``_COMM``/``_EXE``/``_SYSTEMD_UNIT``
from ``/proc`` of that PID -- and a client cannot set them. Everything else --
``SYSLOG_IDENTIFIER`` and ``MESSAGE`` included -- is whatever the sender said:
``logger -t sshd "Failed password for root from 192.0.2.1 ..."`` by any local
user produces ``SYSLOG_IDENTIFIER=sshd``.

So an entry is trusted only on journald's fields, and only on those a local user
cannot steer:

- ``_COMM`` (the process name) in the selector's set -- but ``_COMM`` alone is
  not enough: any user can name a process ``sshd`` (``prctl(PR_SET_NAME)``, or
  running a copy of a binary called ``sshd``);
- ``_UID`` in the selector's set (``0`` for sshd: the messages that name an
  attacker come from sshd's privileged monitor, and a user cannot become uid 0);
- when ``_COMM`` is *missing* -- journald reads it from ``/proc`` when it handles
  the message, and a short-lived sender (an ``sshd-session`` that logs
  "Connection closed ... [preauth]" and exits) may be gone by then, while the
  kernel-given ``_UID`` is always there -- ``SYSLOG_IDENTIFIER`` stands in for
  it. That gives nobody new power: whoever runs as an accepted uid can already
  name a process ``sshd``. With no uid restriction there is no such fallback;
- optionally ``_SYSTEMD_UNIT`` in a set. Not required by default: sshd runs as
  ``ssh.service``, ``sshd.service``, socket-activated ``ssh@...service`` or with
  no unit at all in containers, and without pam_systemd a user's own session
  stays in the ssh unit's cgroup, so the unit alone proves nothing.

A trusted entry becomes ``<ISO-8601 time> <host> <_COMM>[<_PID>]: <MESSAGE>``,
the shape the packs' syslog header reads. Newlines and carriage returns inside
MESSAGE are escaped the way rsyslog does (``#012``, ``#015``), so a message can
never become two lines.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from shieldwall.errors import ConfigError

_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class JournalSelector:
    """Which journal entries a source trusts, on journald's own fields only."""

    #: Accepted ``_COMM`` values (process names, at most 15 characters); empty: any.
    comms: frozenset[str]
    #: Accepted ``_UID`` values; empty: any user.
    uids: frozenset[str] = frozenset({"0"})
    #: Accepted ``_SYSTEMD_UNIT`` values; empty: any unit, or none.
    units: frozenset[str] = frozenset()
    #: A short name for cursors and messages; default: the units, else the process names.
    name: str = ""

    def __post_init__(self) -> None:
        if not self.comms and not self.units:
            raise ConfigError(
                "a journald source needs comms (process names, e.g. ['sshd']) or units "
                "(e.g. ['ssh.service']) to select trusted entries"
            )

    def trusts(self, entry: dict[str, Any]) -> bool:
        """Whether ``entry`` (a decoded JSON object) comes from the selected service."""
        if self.uids and entry.get("_UID") not in self.uids:
            return False
        if self.comms:
            comm = entry.get("_COMM")
            if comm is None and self.uids:
                # The sender exited before journald read /proc (see module docs).
                comm = entry.get("SYSLOG_IDENTIFIER")
            if comm not in self.comms:
                return False
        return not self.units or entry.get("_SYSTEMD_UNIT") in self.units

    @property
    def label(self) -> str:
        """A short name: :attr:`name`, else the units, else the process names."""
        return self.name or ",".join(sorted(self.units) or sorted(self.comms))

    def match_args(self) -> list[str]:
        """journalctl matches selecting (a superset of) the same entries.

        Within a group, fields AND and values of one field OR; ``+`` ORs groups.
        The second group catches entries whose ``_COMM`` journald could not read;
        :meth:`trusts` keeps only those that really lack it.
        """
        rest = [f"_UID={uid}" for uid in sorted(self.uids)]
        rest += [f"_SYSTEMD_UNIT={unit}" for unit in sorted(self.units)]
        if not self.comms:
            return rest
        args = [f"_COMM={comm}" for comm in sorted(self.comms)] + rest
        if self.uids:
            args += ["+", *(f"SYSLOG_IDENTIFIER={comm}" for comm in sorted(self.comms)), *rest]
        return args


#: sshd, including OpenSSH >= 9.8's sshd-session and >= 10's sshd-auth, as root.
SSHD = JournalSelector(comms=frozenset({"sshd", "sshd-session", "sshd-auth"}), name="sshd")

#: Selectors by name, as a configuration refers to them.
SELECTORS: dict[str, JournalSelector] = {"sshd": SSHD}


def selector_for(
    *, comms: Iterable[str] = (), units: Iterable[str] = (), uids: Iterable[str] | None = None
) -> JournalSelector:
    """A selector from configuration lists; ``uids`` defaults to root only.

    Root only by default because that is what makes ``_COMM`` or the unit
    trustworthy; a service whose logging process runs as another user (postfix's
    smtpd, for one) must name that user's uid explicitly.
    """
    return JournalSelector(
        comms=frozenset(comms),
        units=frozenset(units),
        uids=frozenset({"0"}) if uids is None else frozenset(uids),
    )


def journalctl_argv(
    selector: JournalSelector,
    *,
    cursor: str | None,
    from_start: bool = False,
    namespace: str | None = None,
    journalctl: str = "journalctl",
) -> list[str]:
    """The argv (never a shell line) that follows the journal from ``cursor``.

    Without a cursor the journal is followed from its end (``--lines=0``), or
    from its beginning with ``from_start``.
    """
    # No --quiet: it would hide the warning that this user cannot read the system
    # journal, and the source would silently see nothing.
    argv = [journalctl, "--follow", "--output=json", "--all", "--no-pager"]
    if namespace is not None:
        argv.append(f"--namespace={namespace}")
    if cursor:
        argv.append(f"--after-cursor={cursor}")
    elif from_start:
        argv.append("--no-tail")
    else:
        argv.append("--lines=0")
    return argv + selector.match_args()


def field_bytes(value: object) -> bytes | None:
    """A JSON field value as bytes: string, byte array, or first of repeated values."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, list) and value:
        if all(isinstance(b, int) and 0 <= b < 256 for b in value):
            return bytes(value)
        return field_bytes(value[0])
    return None


def iso_time(microseconds: int) -> bytes:
    """RFC 3339 UTC time with microseconds, e.g. ``2026-11-29T02:44:54.148545+00:00``."""
    seconds, micro = divmod(microseconds, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)).encode() + (
        b".%06d+00:00" % micro
    )


#: Spaces, control characters and non-ASCII bytes become "_" in header fields.
_TOKEN = bytes(b if 32 < b < 127 else 95 for b in range(256))


def _token(raw: bytes | None, default: bytes) -> bytes:
    """A header field (host, program) as one word of printable ASCII."""
    return raw.translate(_TOKEN) if raw else default


def entry_line(entry: dict[str, Any]) -> bytes | None:
    """The syslog-like line (with its newline) of a decoded entry; None if unusable."""
    message = field_bytes(entry.get("MESSAGE"))
    stamp = entry.get("__REALTIME_TIMESTAMP")
    comm = field_bytes(entry.get("_COMM", entry.get("SYSLOG_IDENTIFIER")))
    if message is None or not isinstance(stamp, str) or not stamp.isdigit() or not comm:
        return None
    if message.endswith(b"\n"):
        message = message[:-1]
    message = message.replace(b"\n", b"#012").replace(b"\r", b"#015")
    pid = entry.get("_PID")
    program = _token(comm, b"-")
    if isinstance(pid, str) and pid.isdigit():
        program += b"[" + pid.encode() + b"]"
    host = _token(field_bytes(entry.get("_HOSTNAME")), b"localhost")
    return iso_time(int(stamp)) + b" " + host + b" " + program + b": " + message + b"\n"


@dataclass
class ConversionStats:
    """What a converter has seen."""

    entries: int = 0
    kept: int = 0
    #: Entries from a process the selector does not trust (forged or other services).
    untrusted: int = 0
    #: Lines that are not a JSON object, or entries without time, process or message.
    malformed: int = 0


@dataclass
class JournalConverter:
    """Complete lines of ``journalctl -o json`` -> complete syslog-like lines."""

    selector: JournalSelector
    stats: ConversionStats = field(default_factory=ConversionStats)
    #: Cursor of the last entry converted or dropped: resume after it.
    cursor: str | None = None

    def convert(self, json_lines: bytes) -> bytes:
        """The trusted entries of ``json_lines`` (complete lines) as one chunk of lines."""
        out: list[bytes] = []
        stats = self.stats
        trusts = self.selector.trusts
        for raw in json_lines.splitlines():
            if not raw.strip():
                continue
            stats.entries += 1
            try:
                entry = _decode(raw)
            except msgspec.DecodeError:
                stats.malformed += 1
                continue
            if not isinstance(entry, dict):
                stats.malformed += 1
                continue
            cursor = entry.get("__CURSOR")
            if isinstance(cursor, str):
                self.cursor = cursor
            if not trusts(entry):
                stats.untrusted += 1
                continue
            line = entry_line(entry)
            if line is None:
                stats.malformed += 1
                continue
            stats.kept += 1
            out.append(line)
        return b"".join(out)
