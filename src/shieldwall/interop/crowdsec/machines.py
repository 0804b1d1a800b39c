"""The log processors (CrowdSec "machines") allowed to post alerts through the gateway.

In ``<data dir>/crowdsec.sqlite3`` beside the bouncers: name, scrypt hash of the
password, whether an operator validated it. ``shieldwall crowdsec machine add``
registers one directly; ``cscli lapi register`` (``POST /v1/watchers``) leaves
it pending until ``shieldwall crowdsec machine validate``, as with ``cscli
machines validate``. The token secret lives beside, mode 600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from shieldwall.errors import ConfigError
from shieldwall.interop.crowdsec.journal import BOUNCER_NAME, FILE_NAME, connect

SECRET_FILE = "crowdsec-gateway.key"
MAX_PASSWORD = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS machines (
    name      TEXT PRIMARY KEY,
    salt      BLOB NOT NULL,
    hash      BLOB NOT NULL,
    created   REAL NOT NULL,
    validated INTEGER NOT NULL,
    last_seen REAL,
    alerts    INTEGER NOT NULL DEFAULT 0
);
"""


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogateescape"), salt=salt,
                          n=2**14, r=8, p=1, dklen=32)


@dataclass(frozen=True, slots=True)
class Machine:
    name: str
    created: float
    validated: bool
    last_seen: float | None
    alerts: int


class Machines:
    """Machine credentials (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self._db: sqlite3.Connection = connect(data_dir / FILE_NAME)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, name: str, now: float, password: str | None = None, *,
            validated: bool = True) -> str:
        """Register ``name``; returns its password (generated unless given)."""
        if not BOUNCER_NAME.fullmatch(name):
            raise ConfigError(f"machine name {name[:80]!r} must be 1-64 of A-Z a-z 0-9 @ . _ -")
        password = password or secrets.token_urlsafe(32)
        if not 8 <= len(password) <= MAX_PASSWORD:
            raise ConfigError(f"a machine password must be 8 to {MAX_PASSWORD} characters")
        salt = os.urandom(16)
        try:
            self._db.execute("INSERT INTO machines (name, salt, hash, created, validated) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (name, salt, _hash(password, salt), now, int(validated)))
        except sqlite3.IntegrityError:
            raise ConfigError(f"a machine named {name!r} exists; delete it first") from None
        return password

    def check(self, name: str, password: str) -> bool:
        """True when ``name`` is validated and ``password`` is its password."""
        if len(password) > MAX_PASSWORD or len(name) > 64:
            return False
        row = self._db.execute("SELECT salt, hash, validated FROM machines WHERE name = ?",
                               (name,)).fetchone()
        if row is None:
            _hash(password, b"0" * 16)  # same cost whether or not the name exists
            return False
        return bool(row[2]) and hmac.compare_digest(_hash(password, row[0]), row[1])

    def active(self, name: str) -> bool:
        """True while ``name`` exists and is validated (a deleted machine's token stops)."""
        row = self._db.execute("SELECT validated FROM machines WHERE name = ?", (name,)).fetchone()
        return row is not None and bool(row[0])

    def seen(self, name: str, now: float, alerts: int = 0) -> None:
        self._db.execute("UPDATE machines SET last_seen = ?, alerts = alerts + ? WHERE name = ?",
                         (now, alerts, name))

    def validate(self, name: str) -> bool:
        cursor = self._db.execute("UPDATE machines SET validated = 1 WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def delete(self, name: str) -> bool:
        cursor = self._db.execute("DELETE FROM machines WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def list(self) -> list[Machine]:
        rows = self._db.execute(
            "SELECT name, created, validated, last_seen, alerts FROM machines ORDER BY name")
        return [Machine(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]


def gateway_secret(data_dir: Path) -> bytes:
    """The token-signing secret, created on first use (mode 600)."""
    path = data_dir / SECRET_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    secret = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(secret)
    return secret
