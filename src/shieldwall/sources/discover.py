"""Which logs a stock server has: what ``shieldwall up`` follows, and what it cannot.

:func:`discover` is pure: it is given a file test and whether the journal can be
read, and returns the sources to follow plus, for each service left unwatched, a
sentence saying why and how to fix it. :func:`journal_readable` is the I/O half.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: sshd's log on Debian/Ubuntu (rsyslog), then on RHEL-like systems.
SSHD_FILES = ("/var/log/auth.log", "/var/log/secure")
#: Access logs of nginx and Apache (Debian's and RHEL's layouts).
WEB_FILES = ("/var/log/nginx/access.log", "/var/log/apache2/access.log", "/var/log/httpd/access_log")
#: Postfix's log through syslog (Debian's name, then RHEL's).
MAIL_FILES = ("/var/log/mail.log", "/var/log/maillog")
#: vsftpd's own log (its default: vsftpd_log_file, read by the vsftpd pack's own format).
VSFTPD_FILES = ("/var/log/vsftpd.log",)
#: Where the journal keeps its files: persistent, then volatile (no /var/log/journal).
JOURNAL_DIRS = ("/var/log/journal", "/run/log/journal")


@dataclass(frozen=True)
class DiscoveredSource:
    """One log to follow: ``kind`` is a source kind, ``pack`` the pattern pack."""

    kind: str
    path: str
    pack: str


@dataclass(frozen=True)
class Discovery:
    """What a host offers: sources to follow, and sentences about what is not watched."""

    sources: list[DiscoveredSource] = field(default_factory=list)
    unwatched: list[str] = field(default_factory=list)


def _first(paths: Sequence[str], exists: Callable[[str], bool]) -> str | None:
    return next((p for p in paths if exists(p)), None)


def discover(exists: Callable[[str], bool], journal_problem: str | None) -> Discovery:
    """The logs of sshd, web servers, Postfix and vsftpd on this host.

    ``exists(path)`` says whether a readable log file is there; ``journal_problem``
    is None when the systemd journal can be read, else why not. sshd is always
    reported, watched or not, since a host without an sshd source is the most
    common silent gap.
    """
    found = Discovery()
    sshd = _first(SSHD_FILES, exists)
    if sshd is not None:
        found.sources.append(DiscoveredSource("file", sshd, "sshd"))
    elif journal_problem is None:
        found.sources.append(DiscoveredSource("journald", "", "sshd"))
    else:
        found.unwatched.append(
            "sshd is not watched: there is no /var/log/auth.log or /var/log/secure, and "
            f"{journal_problem}. Fix: install rsyslog (apt-get install rsyslog) so that sshd "
            "logs to /var/log/auth.log, or add a [[sources]] table for its log to agent.toml"
        )
    for path in WEB_FILES:
        if exists(path):
            found.sources.append(DiscoveredSource("file", path, "http"))
    mail = _first(MAIL_FILES, exists)
    if mail is not None:
        found.sources.append(DiscoveredSource("file", mail, "postfix"))
    ftp = _first(VSFTPD_FILES, exists)
    if ftp is not None:
        found.sources.append(DiscoveredSource("file", ftp, "vsftpd"))
    return found


def readable_file(path: str) -> bool:
    """A regular file this process may read (the I/O half of ``exists``)."""
    return Path(path).is_file() and os.access(path, os.R_OK)


def journal_problem() -> str | None:
    """None when this user can read the systemd journal, else why not (the I/O half)."""
    from shieldwall.sources.journald import journal_socket

    if shutil.which("journalctl") is None:
        return "journalctl is not installed"
    if not os.path.exists(journal_socket(None)):
        return "journald is not running here (as in most containers)"
    journal_dirs = [d for d in JOURNAL_DIRS if Path(d).is_dir()]
    # Root reads every journal; others need the adm or systemd-journal group, which
    # shows as read access to the persistent or volatile journal folder.
    if os.geteuid() == 0 or any(os.access(d, os.R_OK | os.X_OK) for d in journal_dirs):
        return None
    return "this user may not read the journal (run as root, or join group adm or systemd-journal)"
