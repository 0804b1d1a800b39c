"""The arsenal's published files in the ledger, so that every hub replica serves the same set.

The TUF repository is written in a hub's folder (``arsenal/`` under its data folder),
where drafts are signed; every metadata and target file a change writes is then
appended to the ledger's journal (kind :data:`KIND`, key: the file's path, body: its
bytes) in one transaction: :func:`push`. Before a replica serves the set or changes
it, :func:`pull` brings its folder up to date from the journal (the newest entry of a
path wins; a cursor file remembers how far it read). Replicas on one PostgreSQL thus
serve byte-identical files without sharing a disk, and a hub on SQLite keeps the same
copy in its ledger (a restored ledger restores its arsenal).

Nothing here is trusted for its content: members verify every file with TUF and the
council's keys, so the journal only has to carry bytes. Paths are still checked, so a
bad row cannot write outside the folder. On PostgreSQL journal appends commit in id
order (:mod:`shieldwall.hub.ledger.postgres.journal`), so a cursor by id misses nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from shieldwall.arsenal.repository import Repository, _write, root_pin
from shieldwall.hub.ledger.storage import JournalEntry, Ledger

KIND = "arsenal.file"
CURSOR = "ledger.cursor"
PAGE = 500
_PATH = re.compile(r"^(metadata|targets)/[A-Za-z0-9@._-]+(?:/[A-Za-z0-9@._-]+)*$")


def _cursor(folder: Path) -> int:
    try:
        return int((folder / CURSOR).read_text())
    except (OSError, ValueError):
        return 0


def _everything(folder: Path) -> list[str]:
    """Every published file, targets first and the timestamp last (what a reader needs first)."""
    files = [p.relative_to(folder).as_posix() for part in ("targets", "metadata")
             for p in sorted((folder / part).rglob("*")) if p.is_file()]
    return sorted(files, key=lambda path: (path.startswith("metadata/"), path == "metadata/timestamp.json"))


async def push(ledger: Ledger, repo: Repository, now: float) -> int:
    """Append every file ``repo`` wrote since the last push, in one transaction (their order
    kept, the last write of a path last: timestamp after snapshot after targets).

    The first push into a ledger that holds no arsenal file copies the whole folder (an
    arsenal founded before its hub kept it in the ledger, or restored from a backup).
    """
    order = list(reversed(dict.fromkeys(reversed(repo.written))))
    if not await ledger.journal(KIND, limit=1):
        order = _everything(repo.folder)
    entries = [JournalEntry(KIND, path, now, (repo.folder / path).read_bytes())
               for path in order if _PATH.match(path)]
    if entries:
        await ledger.journal_append(entries)
    repo.written.clear()
    return len(entries)


async def pull(ledger: Ledger, folder: Path) -> int:
    """Write what other replicas (or the CLI) published since the last pull into ``folder``;
    returns the files changed."""
    after = start = _cursor(folder)
    changed = 0
    while True:
        page = await ledger.journal(KIND, after=after, limit=PAGE)
        for entry in page:
            if _PATH.match(entry.key) and ".." not in entry.key.split("/"):
                path = folder / entry.key
                try:
                    same = path.read_bytes() == entry.body
                except OSError:
                    same = False
                if not same:
                    _write(path, entry.body)
                    changed += 1
            after = entry.id
        if len(page) < PAGE:
            break
    if after != start:
        _write(folder / CURSOR, str(after).encode())
    return changed


async def published_root_pin(ledger: Ledger, folder: Path) -> str:
    """:func:`~shieldwall.arsenal.repository.root_pin` after a pull (what a join token carries),
    so an invitation made on any replica pins the arsenal."""
    await pull(ledger, folder)
    return root_pin(folder)
