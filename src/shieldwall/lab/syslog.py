"""Syslog-style lines for services that log to stderr without a timestamp.

``sshd -D -e`` writes bare messages (``Failed password for root from ... ssh2\\r\\n``:
no time, no host, no pid; checked on OpenSSH 9.2). The lab pipes that stderr
through :func:`syslog_line`, so each member's log file reads like rsyslog's
high-precision format, which the sshd pack parses::

    2026-11-29T02:30:00.123456+00:00 a sshd[123]: Failed password for root from 10.77.0.99 port 40000 ssh2
"""

from __future__ import annotations

from datetime import UTC, datetime


def syslog_line(message: bytes, when: float, host: str, program: str, pid: int) -> bytes:
    """One log line: RFC 3339 time (microseconds, UTC), host, ``program[pid]:``, message.

    Trailing CR/LF of ``message`` are dropped and one newline is added; an empty
    message gives ``b""`` (nothing to write).
    """
    text = message.rstrip(b"\r\n")
    if not text:
        return b""
    stamp = datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds")
    return f"{stamp} {host} {program}[{pid}]: ".encode() + text + b"\n"
