"""Apply a lab :class:`~shieldwall.lab.topology.Topology` and remove all of it afterwards.

:class:`Lab` is a context manager. It records everything it creates —
namespaces, the processes it starts (by PID), system users, a work folder — and
:meth:`Lab.close` removes exactly that, in reverse order, whether the body
succeeded, raised, or the interpreter is exiting (``atexit``). Processes are
started in their own session so that the whole group we started can be
signalled; anything still running inside one of *our* namespaces afterwards
(``ip netns pids``) was started by us too and is killed by PID before the
namespace is deleted. Deleting a namespace deletes the veth ends inside it,
and with them their peers.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from shieldwall.errors import ShieldwallError
from shieldwall.lab.syslog import syslog_line
from shieldwall.lab.topology import (
    Topology,
    link_command,
    netns_exec,
    setup_commands,
    teardown_commands,
)

REQUIRED_TOOLS = ("ip",)


class LabError(ShieldwallError):
    """The lab could not be built or driven."""


def check_can_build(tools: Sequence[str] = REQUIRED_TOOLS) -> str | None:
    """Why a lab cannot be built here (``None`` when it can)."""
    if os.geteuid() != 0:
        return ("network namespaces and firewall rules need root (CAP_SYS_ADMIN and "
                "CAP_NET_ADMIN); run as root, or use --simulate")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return (f"missing tools: {', '.join(missing)} (Debian/Ubuntu: apt-get install "
                "iproute2 nftables openssh-server openssh-client sshpass nginx-light curl)")
    return None


def _run(argv: Sequence[str], check: bool = True, timeout: float = 30.0,
         input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                                input=input_text, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{' '.join(argv)}: {exc}") from None
    if check and result.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed ({result.returncode}): "
                       f"{(result.stderr or result.stdout).strip()[:500]}")
    return result


class _Stamper(threading.Thread):
    """Copies a process's output into a file as syslog-style lines, flushed per line."""

    def __init__(self, stream: IO[bytes], path: Path, host: str, program: str, pid: int,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(name=f"stamp-{host}-{program}", daemon=True)
        self.stream, self.path, self.host, self.program, self.pid = (
            stream, path, host, program, pid)
        self.clock = clock

    def run(self) -> None:
        # The pipe is ours to close once the process has closed its end (EOF).
        with self.stream, open(self.path, "ab", buffering=0) as out:
            for raw in iter(self.stream.readline, b""):
                line = syslog_line(raw, self.clock(), self.host, self.program, self.pid)
                if line:
                    out.write(line)


class Lab:
    """A live lab: ``with Lab(topology) as lab: ...`` builds it and always removes it."""

    def __init__(self, topology: Topology, workdir: Path | None = None) -> None:
        self.topology = topology
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"shieldwall-lab-{topology.suffix}-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.namespaces: list[str] = []
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._closed = False
        self._lock = threading.Lock()

    # -- building -------------------------------------------------------------

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Create the namespaces and links; on failure remove what was created."""
        problem = check_can_build()
        if problem:
            raise LabError(problem)
        atexit.register(self.close)
        try:
            for argv in setup_commands(self.topology):
                _run(argv)
                if argv[:3] == ["ip", "netns", "add"]:
                    self.namespaces.append(argv[3])
        except BaseException:
            self.close()
            raise

    def add_cleanup(self, label: str, action: Callable[[], None]) -> None:
        """Run ``action`` at close (last added, first run); failures are reported, not raised."""
        self._cleanups.append((label, action))

    # -- driving --------------------------------------------------------------

    def netns(self, node: str) -> str:
        """The namespace of a node."""
        return self.topology.node(node).netns

    def run(self, node: str, argv: Sequence[str], *, check: bool = True, timeout: float = 30.0,
            input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command to completion inside a node's namespace."""
        return _run(netns_exec(self.netns(node), argv), check, timeout, input_text)

    def spawn(
        self,
        node: str,
        argv: Sequence[str],
        *,
        log: Path | None = None,
        stamp: tuple[str, str] | None = None,
        stdout: int | IO[bytes] | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start a long-running process inside a node's namespace, tracked by PID.

        ``log`` receives stdout and stderr; with ``stamp=(host, program)`` each
        stderr line is written as a syslog-style line instead (see :mod:`.syslog`).
        """
        with self._lock:
            if self._closed:
                raise LabError("the lab is closed")
            out_file = open(log, "ab") if log is not None and stamp is None else None  # noqa: SIM115
            try:
                process = subprocess.Popen(
                    netns_exec(self.netns(node), argv),
                    stdin=subprocess.DEVNULL,
                    stdout=out_file if out_file is not None else (stdout or subprocess.DEVNULL),
                    stderr=subprocess.PIPE if stamp else (out_file or subprocess.DEVNULL),
                    start_new_session=True,
                    env=env,
                )
            except OSError as exc:
                raise LabError(f"cannot start {argv[0]} in {node}: {exc}") from None
            finally:
                if out_file is not None:
                    out_file.close()
            self.processes.append(process)
        if stamp is not None and log is not None and process.stderr is not None:
            _Stamper(process.stderr, log, stamp[0], stamp[1], process.pid).start()
        return process

    def stop(self, process: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
             timeout: float = 5.0) -> int:
        """Signal a process we started (and its process group); wait; SIGKILL if it lingers."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        else:
            # The leader is gone; its group may not be (sshd's children, nginx workers).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        return process.returncode

    def set_link(self, node: str, up: bool) -> None:
        """Cut or restore a node's link at the switch."""
        _run(link_command(self.topology, node, up))

    def pids_in(self, netns: str) -> list[int]:
        """PIDs of processes inside one of our namespaces."""
        result = _run(["ip", "netns", "pids", netns], check=False)
        return [int(p) for p in result.stdout.split() if p.isdigit()]

    # -- removing -------------------------------------------------------------

    def close(self) -> list[str]:
        """Remove everything this lab created; return what could not be removed."""
        with self._lock:
            if self._closed:
                return []
            self._closed = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.close)
        problems: list[str] = []
        for process in reversed(self.processes):
            try:
                self.stop(process, timeout=3.0)
            except Exception as exc:  # keep removing the rest
                problems.append(f"process {process.pid}: {exc}")
        for label, action in reversed(self._cleanups):
            try:
                action()
            except Exception as exc:
                problems.append(f"{label}: {exc}")
        for netns in self.namespaces:
            # Whatever still runs in our namespace was started by us (e.g. an sshd
            # session child that left our process group): kill it by PID.
            for pid in self.pids_in(netns):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        created = set(self.namespaces)
        for argv in teardown_commands(self.topology):
            if argv[3] not in created:
                continue
            result = _run(argv, check=False)
            if result.returncode != 0 and "No such file" not in result.stderr:
                problems.append(f"{' '.join(argv)}: {result.stderr.strip()}")
        self.namespaces.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return problems


@contextlib.contextmanager
def exit_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``SystemExit`` so ``with Lab(...)`` unwinds.

    Use in the main thread of a program that owns a lab (the demo); the previous
    handlers are restored afterwards.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
