"""No pack's regex backtracks catastrophically on hostile lines.

A regex with nested or overlapping quantifiers can take exponential time on a
crafted line, and a client controls much of every line (user names, URLs, user
agents). Every shipped pack gets lines built to trigger that: 100 KB runs of
spaces, ``from ``, letters, colons, digits and dots, nested-looking brackets, a
64 KiB line after a real header, stacked ``message repeated`` prefixes.

The time bound is a correctness guard against exponential blow-up, not a speed
benchmark (speed lives in ``bench/``): linear scanning of all of this takes well
under a second, while one exponential regex would not finish in hours. The bound
is deliberately generous so that a slow or busy CI machine cannot fail it.
"""

from __future__ import annotations

import time

import pytest

from shieldwall.events.packs import builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream

#: Seconds for the whole set of lines, per pack.
BOUND = 5.0

SYSLOG_HEADS = ("Dec 10 06:55:46 host ", "2024-07-02T10:11:12+02:00 host ")
ACCESS_HEAD = '192.0.2.7 - - [10/Oct/2024:13:55:36 +0000] "'
VSFTPD_HEAD = "Mon Jun  8 12:08:53 2020 [pid 2] "
BIG = 100_000


def _fillers() -> list[str]:
    return [
        " " * BIG,
        "from " * (BIG // 5),
        "a" * BIG,
        ":" * BIG,
        "1" * BIG,
        "." * BIG,
        "1." * (BIG // 2),
        "1:" * (BIG // 2),
        "192.0.2.1 " * (BIG // 10),
        "from 192.0.2.1 port " * (BIG // 20),
        "for invalid user " * (BIG // 17),
        "[" * (BIG // 2) + "]" * (BIG // 2),
        "([{" * (BIG // 3),
        "%2e%2e/" * (BIG // 7),
        "../" * (BIG // 3),
        "/" * BIG,
        "\\" * BIG,
        '\\"' * (BIG // 2),
        '"' * BIG,
        "=&" * (BIG // 2),
        "\t" * BIG,
        "user=" * (BIG // 5),
        "rhost=" * (BIG // 6),
        "wp-" * (BIG // 3),
        "Auth fail" * (BIG // 9),
        " [preauth]" * (BIG // 10),
        "\x00" * BIG,
        # the anchors themselves, over and over: one candidate line start each
        # for a scanner that searched for the program name anywhere
        "sshd[1]: Invalid user " * (BIG // 22),
        "Dec 10 06:55:46 host sshd[1]: " * (BIG // 30),
        '] "GET /' * (BIG // 8),
    ]


def _messages(filler: str) -> list[str]:
    """Messages that start like real ones, so the regex gets deep into its patterns."""
    starts = [
        "", "Failed password for ", "Failed password for invalid user ", "Invalid user ",
        "Connection closed by invalid user ", "Disconnecting authenticating user ",
        "error: maximum authentication attempts exceeded for ",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=",
        "Received disconnect from 192.0.2.1 port 22:3: ", "Unable to negotiate with 192.0.2.1 port "
        "22: no matching key exchange method found. Their offer: ",
        "Bad protocol version identification '", "User ", "warning: unknown[192.0.2.1]: SASL LOGIN "
        "authentication failed: ", "auth: pam(", "[pid 1] [", "FAIL LOGIN: Client \"",
        "USER ", "message repeated 3 times: [ " * 50,
    ]
    return [start + filler for start in starts] + [filler + " from 192.0.2.1 port 22 ssh2"]


def _lines_for(fmt: str, program: str) -> bytes:
    lines: list[str] = []
    for filler in _fillers():
        if fmt == "access":
            lines += [
                ACCESS_HEAD + filler,
                ACCESS_HEAD + "GET /" + filler + ' HTTP/1.1" 404 1 "-" "-"',
                ACCESS_HEAD + 'GET / HTTP/1.1" 404 1 "' + filler + '" "' + filler,
                ACCESS_HEAD + 'GET / HTTP/1.1" 200 1 "-" "' + filler + '"',
            ]
        else:
            for head in SYSLOG_HEADS:
                lines += [f"{head}{program}[1]: {m}" for m in _messages(filler)]
            if fmt == "vsftpd":  # its own log file: a ctime stamp and the pid, no program
                lines += [f"{VSFTPD_HEAD}{m}" for m in _messages(filler)]
        lines.append(filler)
    # One 64 KiB line (the longest a source passes on) after a real header.
    lines.append(SYSLOG_HEADS[0] + f"{program}[1]: Failed password for " + "x " * 32_768)
    return ("\n".join(lines) + "\n").encode("utf-8")


@pytest.mark.parametrize("pack_name", builtin_pack_names())
def test_pathological_lines_scan_in_bounded_time(pack_name: str) -> None:
    pack = load_pack(pack_name)
    # A plausible program name for the pack's header (syslog formats).
    program = {
        "sshd": "sshd", "postfix": "postfix/smtpd", "dovecot": "dovecot", "vsftpd": "vsftpd",
        "proftpd": "proftpd", "apache-error": "apache2",
    }.get(pack_name, pack_name)
    data = _lines_for(pack.format, program)
    stream = EventStream(pack, year=2024)
    started = time.process_time()
    stream.feed(data)
    elapsed = time.process_time() - started
    assert stream.stats.lines == data.count(b"\n")
    assert elapsed < BOUND, f"{pack_name}: {elapsed:.1f} s for {len(data) / 1e6:.0f} MB of hostile lines"
