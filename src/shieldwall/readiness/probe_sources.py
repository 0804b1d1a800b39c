"""Probes of the configured log sources and of the packs that read them.

A file source is alive when it exists, can be opened for reading, and was written
recently (its modification time is when its last line arrived); a journald source
when the journal answers for its selector (its newest entry's time).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
from collections.abc import Sequence

import msgspec

from shieldwall.errors import ShieldwallError
from shieldwall.events.packs import PackSpec, load_pack
from shieldwall.readiness.liveness import SourceView
from shieldwall.readiness.versions import VersionView
from shieldwall.sources import SourceSpec, make_source
from shieldwall.sources.journald import JournaldSource
from shieldwall.sources.state import PositionStore

JOURNAL_TIMEOUT = 10.0
_NO_PERMISSION = "insufficient permissions"


def file_source(label: str, path: str) -> SourceView:
    """A log file: exists, readable, and when it was last written."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return SourceView(label, error=f"{path} does not exist: is the service logging"
                                       " elsewhere (check the path in agent.toml)?")
    except OSError as exc:
        return SourceView(label, error=f"cannot open {path}: {exc.strerror}; the agent's user"
                                       " needs read access (e.g. group adm)")
    try:
        return SourceView(label, last_line_at=os.fstat(fd).st_mtime)
    finally:
        os.close(fd)


def newest_entry(argv: Sequence[str], timeout: float = JOURNAL_TIMEOUT) -> tuple[float | None, str | None]:
    """(time of the newest entry journalctl shows, error); runs ``argv`` as is."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"journalctl did not answer: {exc}"
    if done.returncode != 0 or _NO_PERMISSION in done.stderr:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        return None, f"journalctl failed: {first} (reading the system journal needs root or" \
                     " group systemd-journal)"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        return None, None
    try:
        return int(json.loads(lines[-1])["__REALTIME_TIMESTAMP"]) / 1_000_000, None
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"journalctl printed an entry without a time: {exc}"


def journal_argv(source: JournaldSource, journalctl: str) -> list[str]:
    """The newest entry the source's selector matches, as JSON (never a shell line)."""
    argv = [journalctl, "--output=json", "--no-pager", "--lines=1"]
    if source.namespace is not None:
        argv.append(f"--namespace={source.namespace}")
    return argv + source.selector.match_args()


def source_view(spec: SourceSpec) -> SourceView:
    """Probe one configured source (a stdin source cannot be probed from outside)."""
    if spec.kind == "file":
        return file_source(spec.label, spec.path)
    if spec.kind == "stdin":
        return SourceView(spec.label, unobserved="standard input cannot be watched from"
                                                 " outside the agent")
    try:
        source = make_source(spec, PositionStore())
        if not isinstance(source, JournaldSource):  # pragma: no cover - registry invariant
            raise TypeError(f"{spec.kind} source is not a JournaldSource")
        journalctl = source.check_available()
    except ShieldwallError as exc:
        return SourceView(spec.label, error=str(exc))
    at, error = newest_entry(journal_argv(source, journalctl))
    return SourceView(spec.label, error=error, last_line_at=at)


def pack_digest(pack: PackSpec) -> str:
    """A pack's version: the digest of its parsed content (not of its path)."""
    return hashlib.sha256(msgspec.json.encode(dataclasses.replace(pack, path=""))).hexdigest()


def pack_versions(specs: Sequence[SourceSpec]) -> VersionView:
    """Each configured pack's version (:func:`pack_digest`), or why it cannot load."""
    return versions_of(sorted({spec.pack for spec in specs if spec.pack}))


def versions_of(names: Sequence[str]) -> VersionView:
    """The version of each named pack (the hub: every pack it ships)."""
    local: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            local[name] = pack_digest(load_pack(name))
        except ShieldwallError as exc:
            errors[name] = str(exc)
    return VersionView(local=local, errors=errors)
