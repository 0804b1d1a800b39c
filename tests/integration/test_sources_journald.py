"""journald source against real journalctl and a real systemd-journald.

- Where there is no journal, the source fails with a clear message (runs anywhere).
- The system journal, if this machine has one, is followed for real.
- A private journald *namespace* (``systemd-journald NAME``, root only) gives a
  real journal even in a container: entries are written with the native
  protocol by processes renamed with prctl (a root ``sshd``; a uid-65534
  ``sshd``) and by the real ``logger -t sshd``; only the root sshd must come out.

None of these is marked ``root``: journald may legitimately be absent (CI
containers), so they skip with the reason instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shieldwall.errors import SourceError
from shieldwall.sources.journald import JournaldSource, journal_socket
from shieldwall.sources.state import PositionStore

WAIT = 15.0
JOURNALD = "/lib/systemd/systemd-journald"

SEND = r"""
import ctypes, os, socket, struct, sys
path, comm, uid, message = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if uid:
    os.setgid(uid)
    os.setuid(uid)
ctypes.CDLL(None).prctl(15, comm.encode(), 0, 0, 0)  # PR_SET_NAME
data = message.encode().replace(b"\\n", b"\n")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(b"SYSLOG_IDENTIFIER=" + comm.encode() + b"\nMESSAGE\n" + struct.pack("<Q", len(data))
            + data + b"\n", path)
"""


def send(socket_path: str, comm: str, message: str, uid: int = 0) -> None:
    """Write one native journal entry from a process named ``comm`` running as ``uid``."""
    subprocess.run(
        [sys.executable, "-c", SEND, socket_path, comm, str(uid), message],
        check=True, timeout=30,
    )


def journalctl_works() -> bool:
    if shutil.which("journalctl") is None:
        return False
    result = subprocess.run(["journalctl", "--version"], capture_output=True, timeout=30)
    return result.returncode == 0


class Follow:
    """Runs a JournaldSource in a task and gathers its output."""

    def __init__(self, source: JournaldSource) -> None:
        self.source = source
        self.data = b""
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for chunk in self.source.chunks():
            assert chunk.endswith(b"\n")
            self.data += chunk
            self._changed.set()

    async def until(self, marker: bytes) -> bytes:
        try:
            async with asyncio.timeout(WAIT):
                while marker not in self.data:
                    self._changed.clear()
                    if self._task.done():
                        self._task.result()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"{marker!r} not seen; got {self.data!r}") from None
        return self.data

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_no_journal_is_a_source_error_that_says_to_read_the_file() -> None:
    source = JournaldSource(PositionStore(), namespace=f"absent-{uuid.uuid4().hex[:8]}")
    with pytest.raises(SourceError, match=r"no systemd journal here .* /var/log/auth.log"):
        async for _ in source.chunks():
            pass


async def test_missing_journalctl_is_a_source_error() -> None:
    source = JournaldSource(PositionStore(), journalctl="/nonexistent/journalctl")
    with pytest.raises(SourceError, match="not found"):
        async for _ in source.chunks():
            pass


async def test_system_journal_is_followed_and_forged_sshd_lines_are_dropped() -> None:
    if not journalctl_works() or not os.path.exists(journal_socket()):
        pytest.skip(f"no system journal here ({journal_socket()} absent or no journalctl)")
    if os.geteuid() != 0:
        pytest.skip("writing an entry that is trusted as sshd (uid 0) needs root")
    marker = uuid.uuid4().hex
    follow = Follow(JournaldSource(PositionStore(), key="journald:test"))
    try:
        await asyncio.wait_for(follow.source.watching.wait(), WAIT)
        await asyncio.sleep(0.5)  # let journalctl seek to the end before we write
        subprocess.run(["logger", "-t", "sshd", f"forged {marker}"], check=True, timeout=30,
                       user=65534, group=65534)  # a local user's forgery
        send(journal_socket(), "sshd", f"genuine {marker}")
        data = await follow.until(f"genuine {marker}".encode())
        assert f"forged {marker}".encode() not in data
    finally:
        await follow.stop()


@pytest.fixture
def private_journal() -> Iterator[str]:
    """A journald namespace of our own; yields its name. Removed afterwards."""
    if os.geteuid() != 0:
        pytest.skip("starting a private journald namespace needs root")
    if not os.access(JOURNALD, os.X_OK) or not journalctl_works():
        pytest.skip(f"needs {JOURNALD} and journalctl (Debian package systemd)")
    machine_id = Path("/etc/machine-id").read_text().strip() if Path(
        "/etc/machine-id").exists() else ""
    if not machine_id:
        pytest.skip("journald needs /etc/machine-id")
    namespace = f"shieldwall-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [JOURNALD, namespace], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + WAIT
        while not os.path.exists(journal_socket(namespace)):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"systemd-journald {namespace} did not start here")
            time.sleep(0.05)
        yield namespace
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(f"/run/systemd/journal.{namespace}", ignore_errors=True)
        for root in ("/var/log/journal", "/run/log/journal"):
            shutil.rmtree(f"{root}/{machine_id}.{namespace}", ignore_errors=True)


async def test_private_journal_keeps_root_sshd_and_drops_forgeries(
    private_journal: str, tmp_path: Path
) -> None:
    socket_path = journal_socket(private_journal)
    dev_log = socket_path.replace("/socket", "/dev-log")
    marker = uuid.uuid4().hex[:8]
    # A local user's `logger -t sshd` (uid 65534), the forgery journald must not pass on.
    subprocess.run(
        ["logger", "-u", dev_log, "-t", "sshd",
         f"Failed password for root from 192.0.2.66 port 22 ssh2 {marker}-logger"],
        check=True, timeout=30, user=65534, group=65534,
    )
    send(socket_path, "sshd", f"Failed password for root from 192.0.2.77 port 1 ssh2 "
                              f"{marker}-nobody", uid=65534)
    send(socket_path, "sshd", f"Failed password for root from 198.51.100.7 port 2 ssh2\\n"
                              f"sshd[1]: Failed password for root from 192.0.2.88 port 3 ssh2 "
                              f"{marker}-root")
    send(socket_path, "sshd-session", f"Invalid user x from 203.0.113.9 port 4 {marker}-end")
    store = PositionStore(tmp_path / "positions.json")
    follow = Follow(JournaldSource(store, namespace=private_journal, from_start=True))
    try:
        data = await follow.until(f"{marker}-end".encode())
    finally:
        await follow.stop()
    lines = data.splitlines()
    assert len(lines) == 2
    assert b" sshd[" in lines[0] and b"198.51.100.7 port 2 ssh2#012sshd[1]: " in lines[0]
    assert b" sshd-session[" in lines[1]
    assert b"-logger" not in data and b"-nobody" not in data
    # journalctl's own matches (_COMM=..., _UID=0) already left the forgeries out.
    assert follow.source.conversion.kept == 2


async def test_private_journal_resumes_after_its_cursor_with_no_repeat_and_no_gap(
    private_journal: str, tmp_path: Path
) -> None:
    socket_path = journal_socket(private_journal)
    state = tmp_path / "positions.json"
    seen = b""
    number = 0
    for _run in range(3):
        for _ in range(5):
            send(socket_path, "sshd", f"Connection closed by 192.0.2.1 port 22 n={number:04d}")
            number += 1
        source = JournaldSource(
            PositionStore.load(state), namespace=private_journal, from_start=True
        )
        follow = Follow(source)
        try:
            await follow.until(f"n={number - 1:04d}".encode())
        finally:
            await follow.stop()
        seen += follow.data
    numbers = [int(line.rsplit(b"n=", 1)[1]) for line in seen.splitlines()]
    assert numbers == list(range(number))


async def test_rejected_saved_cursor_falls_back_to_following_the_journal(
    private_journal: str, tmp_path: Path
) -> None:
    socket_path = journal_socket(private_journal)
    send(socket_path, "sshd", "Connection closed by 192.0.2.1 port 22 after-bad-cursor")
    store = PositionStore(tmp_path / "positions.json")
    source = JournaldSource(store, namespace=private_journal, from_start=True)
    store.set_cursor(source.key, "s=bogus;i=1")
    follow = Follow(source)
    try:
        data = await follow.until(b"after-bad-cursor")
    finally:
        await follow.stop()
    assert data.count(b"\n") == 1
    assert store.cursor(source.key) not in (None, "s=bogus;i=1")
