"""The member's active rule set on disk, swapped whole.

Rule files are stored by content (``store/<sha256>``) before anything points at
them; then one manifest (``active.json``) naming every rule, its status and its
hash is written to a temporary file, flushed and renamed over the old one. A
process killed at any point leaves the old manifest or the new one, and each
names only files that are complete: the member restarts with the old set or
the new set, never a mix.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

from shieldwall.arsenal.rule import Rule, parse_rule
from shieldwall.errors import ArsenalError

MANIFEST = "active.json"


class Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One rule of the set, as the manifest names it."""

    path: str
    sha256: str
    status: str
    report_sha256: str = ""
    demoted: bool = False


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The whole active set: the targets version it came from and its rules."""

    version: int
    rules: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class ActiveRule:
    """A loaded rule and the status the signed target gave it."""

    rule: Rule
    #: The status the council signed.
    status: str
    report_sha256: str = ""
    #: Put back in shadow by the hub's charter rule (harm rose), whatever ``status`` says.
    demoted: bool = False

    @property
    def effective(self) -> str:
        """What the member runs it as: ``experimental`` (shadow) when demoted."""
        return "experimental" if self.demoted and self.status != "deprecated" else self.status


@dataclass(frozen=True)
class ActiveSet:
    """What the member runs: the alliance's rules at one targets version."""

    version: int
    rules: tuple[ActiveRule, ...] = ()

    def status_of(self, rule_id: str) -> str | None:
        """The status of ``name@version`` in this set, or ``None``."""
        return next((a.status for a in self.rules if a.rule.id == rule_id), None)


EMPTY = ActiveSet(version=0)


def _durable(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(folder: Path, active: ActiveSet) -> None:
    """Make ``active`` the set a restart loads: files first, then the manifest in one rename."""
    store = folder / "store"
    store.mkdir(parents=True, exist_ok=True)
    entries = []
    for item in active.rules:
        digest = item.rule.sha256
        path = store / digest
        if not path.exists():
            _durable(path, item.rule.raw)
        entries.append(Entry(item.rule.target_path, digest, item.status, item.report_sha256,
                             item.demoted))
    _durable(folder / MANIFEST, msgspec.json.encode(Manifest(active.version, tuple(entries))))


def load(folder: Path) -> ActiveSet:
    """The set the last swap made active (:data:`EMPTY` before the first one).

    Raises :class:`ArsenalError` ``corrupt`` when a file the manifest names is missing or
    does not hash to what it says (the disk was changed behind the agent's back).
    """
    try:
        raw = (folder / MANIFEST).read_bytes()
    except FileNotFoundError:
        return EMPTY
    try:
        manifest = msgspec.json.decode(raw, type=Manifest)
    except msgspec.DecodeError as exc:
        raise ArsenalError("corrupt", f"{folder / MANIFEST}: {exc}") from None
    rules = []
    for entry in manifest.rules:
        path = folder / "store" / entry.sha256
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ArsenalError("corrupt", f"{path}: {exc.strerror} (named by {MANIFEST})") from None
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise ArsenalError("corrupt", f"{path} does not hash to its name")
        rules.append(ActiveRule(parse_rule(data, entry.path), entry.status, entry.report_sha256,
                                entry.demoted))
    return ActiveSet(manifest.version, tuple(rules))
