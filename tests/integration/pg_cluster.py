"""A private PostgreSQL cluster for the tests: Debian's initdb/pg_ctl in a temp dir.

The cluster listens on 127.0.0.1 on a free port only (no Unix socket), trusts
loopback connections and is stopped by ``pg_ctl stop`` when the fixture ends (its
postmaster is killed by PID if that fails). ``initdb`` refuses to run as root, so
as root (CI) the cluster belongs to Debian's ``postgres`` user and every server
command runs through ``runuser``; as anyone else it runs as that user.

A test module takes a cluster with ``cluster = pg_cluster_fixture()`` and a fresh
database per test from :meth:`PgCluster.new_database`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def _pg_bin() -> Path:
    """$SHIELDWALL_PG_BIN, else the newest Debian server install (/usr/lib/postgresql/N/bin)."""
    if "SHIELDWALL_PG_BIN" in os.environ:
        return Path(os.environ["SHIELDWALL_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
#: The role initdb creates; superuser inside the private cluster only.
SUPERUSER = "shieldwall"
_names = itertools.count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running private cluster."""

    root: Path
    port: int
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` on this cluster."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def command(self, *argv: str) -> list[str]:
        """``argv`` run as the cluster's owner."""
        return ["runuser", "-u", self.run_as, "--", *argv] if self.run_as else list(argv)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql and return its unaligned output."""
        done = subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-d", self.dsn(database), "-c", sql],
            capture_output=True, text=True, check=False, timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def new_database(self) -> str:
        """A fresh empty database; returns its DSN."""
        name = f"t{os.getpid()}_{next(_names)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Stop the server (fast shutdown; kill the postmaster if that fails) and remove it."""
        done = subprocess.run(
            self.command(str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w",
                         "-t", "30"),
            capture_output=True, text=True, check=False,
        )
        pid = self.postmaster_pid()
        if done.returncode != 0 and pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def _owner() -> str | None:
    """Who the cluster runs as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("as root, the test cluster needs the 'postgres' user (apt-get install postgresql)")
    return "postgres"


def start_cluster(fsync: bool = False) -> PgCluster:
    """initdb and start a private cluster; skips when PostgreSQL is not installed."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"needs PostgreSQL server binaries in {PG_BIN} (apt-get install postgresql)")
    owner = _owner()
    root = Path(tempfile.mkdtemp(prefix="shieldwall-pg-"))
    if owner is not None:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    cluster = PgCluster(root=root, port=_free_port(), run_as=owner)
    init = subprocess.run(
        cluster.command(str(PG_BIN / "initdb"), "-D", str(cluster.data), "-U", SUPERUSER,
                        "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C.UTF-8"),
        capture_output=True, text=True, check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
    options = [
        "-c", "listen_addresses=127.0.0.1", "-c", f"port={cluster.port}",
        "-c", "unix_socket_directories=", "-c", "max_connections=200",
        "-c", f"fsync={'on' if fsync else 'off'}",
        "-c", f"synchronous_commit={'on' if fsync else 'off'}",
    ]
    started = subprocess.run(
        cluster.command(str(PG_BIN / "pg_ctl"), "start", "-D", str(cluster.data), "-w", "-t", "60",
                        "-l", str(root / "server.log"), "-o", " ".join(options)),
        capture_output=True, text=True, check=False,
    )
    if started.returncode != 0:
        server_log = root / "server.log"
        log = server_log.read_text(errors="replace")[-2000:] if server_log.exists() else ""
        cluster.stop()
        raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log}")
    return cluster


@contextlib.contextmanager
def running_cluster(fsync: bool = False) -> Iterator[PgCluster]:
    """A private cluster for the ``with`` block."""
    cluster = start_cluster(fsync=fsync)
    try:
        yield cluster
    finally:
        cluster.stop()


def pg_cluster_fixture() -> Callable[..., PgCluster]:
    """A module-scoped pytest fixture giving the run's private cluster, for a test module to
    bind to a name (``cluster = pg_cluster_fixture()``): one initdb per run (the session
    fixture ``pg_session_cluster`` in tests/conftest.py), a database per test. Databases,
    advisory locks and LISTEN channels are per database, so tests sharing it do not meet."""

    @pytest.fixture(scope="module")
    def cluster(pg_session_cluster: PgCluster) -> PgCluster:
        return pg_session_cluster

    return cluster
