"""Side-by-side speed of ``shieldwall replay``, sshguard's parser and fail2ban-regex.

Builds a 1,000,000-line sshd log from ``shared/data/loghub/OpenSSH_2k.log`` in a
temporary directory (each copy's timestamps advanced past the previous copy's;
with ``--distinct`` every copy's addresses are rewritten, deterministically, into
fresh ones: ~15,000 distinct attackers in all), then runs, in one go:

* ``shieldwall replay --json FILE``
* ``/usr/libexec/sshguard/sshg-parser < FILE`` (Debian package sshguard; it reads
  log lines on stdin and prints one attack per line)
* ``fail2ban-regex FILE /etc/fail2ban/filter.d/sshd.conf`` (Debian package fail2ban)

and prints lines per CPU-second of each (user + system time of the child
processes, from ``getrusage(RUSAGE_CHILDREN)`` deltas), the ratios, and
shieldwall's peak RSS (``ru_maxrss`` of that child, from ``wait4``). With
``--web`` it does the same for a web log built from
``shared/data/honeynet-chuvakin-httpd`` (only shieldwall: neither other tool reads
access logs the same way). The last lines hold the goals of one run: the sshd ratio
to sshguard's parser (goal 2.0x), the web rate (goal 1M lines per CPU-second) and
the peak RSS (goal 60 MB). The replay's summary line (printed) says which engine
ran (compiled or pure Python). A benchmark prints; it never asserts.

Example::

    python3 bench/replay_bench.py --web --skip fail2ban   # the issue-17 goals, one run
    python3 bench/replay_bench.py                  # sshd, 1M lines, distinct attackers
    python3 bench/replay_bench.py --same-addresses --web
    python3 bench/replay_bench.py --lines 200000 --skip fail2ban --breakdown
    python3 bench/replay_bench.py --web --skip fail2ban --repeat 5   # a noisy machine

With ``--repeat N`` every command runs N times, the tools taking turns (shieldwall,
sshguard, shieldwall, ...), and each tool's table row and goal use its *least* CPU
time of the N, as ``timeit`` does: noise from other tenants only ever adds time, so
the least is the figure that repeats; the median of the N is printed beside it.
"""

from __future__ import annotations

import argparse
import calendar
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OPENSSH = SHARED / "loghub" / "OpenSSH_2k.log"
HTTPD = SHARED / "honeynet-chuvakin-httpd" / "httpd"
SSHG_PARSER = Path("/usr/libexec/sshguard/sshg-parser")
F2B_FILTER = Path("/etc/fail2ban/filter.d/sshd.conf")

_IPV4 = re.compile(rb"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b")
_BSD = re.compile(rb"^([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)")
_CLF = re.compile(rb"\[(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})\]")
_MONTHS = [m.encode() for m in calendar.month_abbr]


def _rewrite_addresses(line: bytes, copy: int, table: dict[bytes, bytes]) -> bytes:
    """Map every IPv4 address of copy ``copy`` to a fresh, deterministic one.

    Copy ``c`` puts its addresses in ``(11 + c // 250).(c % 250).x.y``, keeping the
    original's last two octets, so that addresses of different copies never meet
    and one copy's attackers stay the same attackers.
    """
    def swap(m: re.Match[bytes]) -> bytes:
        old = m.group(0)
        new = table.get(old)
        if new is None:
            new = table[old] = b"%d.%d.%s.%s" % (11 + copy // 250, copy % 250, m.group(3), m.group(4))
        return new

    return _IPV4.sub(swap, line)


def build_sshd_log(path: Path, lines: int, distinct: bool) -> int:
    """Write ``lines`` lines of OpenSSH_2k.log copies; return distinct addresses written."""
    source = OPENSSH.read_bytes().splitlines()
    year = 2025
    parsed: list[tuple[int, bytes]] = []
    for line in source:
        m = _BSD.match(line)
        if m is None:
            raise SystemExit(f"unexpected line in {OPENSSH}: {line[:60]!r}")
        month = _MONTHS.index(m.group(1))
        when = calendar.timegm(
            (year, month, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)))
        )
        parsed.append((when, line[m.end():]))
    start = parsed[0][0]
    span = parsed[-1][0] - start + 60  # each copy starts a minute after the last one ended
    addresses: set[bytes] = set()
    stamps: dict[int, bytes] = {}
    written = 0
    with path.open("wb") as out:
        copy = 0
        while written < lines:
            table: dict[bytes, bytes] = {}
            chunk: list[bytes] = []
            for when, rest in parsed[: lines - written]:
                t = when + copy * span
                stamp = stamps.get(t)
                if stamp is None:
                    tm = time.gmtime(t)
                    stamp = stamps[t] = b"%s %2d %02d:%02d:%02d" % (
                        _MONTHS[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec
                    )
                if distinct:
                    rest = _rewrite_addresses(rest, copy, table)
                chunk.append(stamp + rest)
            out.write(b"\n".join(chunk) + b"\n")
            written += len(chunk)
            addresses.update(table.values() if distinct else ())
            copy += 1
            if len(stamps) > 100_000:
                stamps.clear()
    if not distinct:
        addresses = {m.group(0) for line in source for m in _IPV4.finditer(line)}
    return len(addresses)


def build_web_log(path: Path, lines: int, distinct: bool) -> int:
    """Write ``lines`` access-log lines from the honeynet httpd logs (time advanced per copy)."""
    def age(p: Path) -> int:
        return int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0

    files = sorted(HTTPD.glob("access_log*"), key=age, reverse=True)  # oldest rotation first
    source = [line for f in files for line in f.read_bytes().splitlines() if _CLF.search(line)]
    parsed: list[tuple[int, bytes, bytes, bytes]] = []
    for line in source:
        m = _CLF.search(line)
        assert m is not None  # filtered above; bench code, not input validation
        month = _MONTHS.index(m.group(2))
        when = calendar.timegm(
            (int(m.group(3)), month, int(m.group(1)), int(m.group(4)), int(m.group(5)), int(m.group(6)))
        )
        parsed.append((when, line[: m.start()], m.group(7), line[m.end():]))
    first = min(p[0] for p in parsed)
    span = max(p[0] for p in parsed) - first + 86400
    addresses: set[bytes] = set()
    written = 0
    with path.open("wb") as out:
        copy = 0
        while written < lines:
            table: dict[bytes, bytes] = {}
            chunk = []
            for when, before, zone, after in parsed[: lines - written]:
                tm = time.gmtime(when + copy * span)
                stamp = b"[%02d/%s/%d:%02d:%02d:%02d %s]" % (
                    tm.tm_mday, _MONTHS[tm.tm_mon], tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec, zone
                )
                if distinct:
                    before = _rewrite_addresses(before, copy, table)
                chunk.append(before + stamp + after)
            out.write(b"\n".join(chunk) + b"\n")
            written += len(chunk)
            addresses.update(table.values())
            copy += 1
    return len(addresses)


@dataclass
class Run:
    name: str
    cpu: float
    wall: float
    maxrss_kib: int
    returncode: int
    stdout_lines: int


#: A small process that starts the measured commands (see main()).
_LAUNCHER: ProcessPoolExecutor | None = None


def measure(name: str, argv: Sequence[str], stdin_path: Path | None = None) -> Run:
    """Run ``argv`` to completion from the launcher process.

    Linux counts in a child's peak RSS the memory of the process it was forked
    from (its image before exec), so children are started from a small process
    made before any log is loaded, not from this one.
    """
    if _LAUNCHER is None:
        return _measure_here(name, argv, stdin_path)
    return _LAUNCHER.submit(_measure_here, name, list(argv), stdin_path).result()


def measure_turns(commands: list[tuple[str, list[str], Path | None]], repeat: int) -> list[Run]:
    """Each command ``repeat`` times, taking turns; per command its run of least CPU.

    The medians of CPU seconds are printed, so that a reader sees the spread.
    """
    runs: dict[str, list[Run]] = {name: [] for name, _, _ in commands}
    for _ in range(repeat):
        for name, argv, stdin_path in commands:
            runs[name].append(measure(name, argv, stdin_path))
    if repeat > 1:
        print(f"  ({repeat} turns; CPU s per turn: "
              + "; ".join(f"{name} " + " ".join(f"{r.cpu:.2f}" for r in rs) for name, rs in runs.items())
              + "; medians: "
              + ", ".join(f"{name} {statistics.median(r.cpu for r in rs):.2f}" for name, rs in runs.items())
              + ")")
    return [min(rs, key=lambda r: r.cpu) for rs in runs.values()]


def _measure_here(name: str, argv: Sequence[str], stdin_path: Path | None = None) -> Run:
    """Run ``argv`` to completion; CPU from RUSAGE_CHILDREN deltas, peak RSS from wait4."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        stdin = stdin_path.open("rb") if stdin_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=subprocess.PIPE)
            assert proc.stderr is not None
            err = proc.stderr.read()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdin_path:
                stdin.close()  # type: ignore[union-attr]
        out.seek(0)
        produced = sum(1 for _ in out)
    elapsed = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(f"  ! {name} exited {proc.returncode}: {err.decode(errors='replace')[-400:]}")
    elif name == "shieldwall" and err:
        print("  " + err.decode(errors="replace").strip().splitlines()[-1])
    return Run(name, cpu, elapsed, usage.ru_maxrss, proc.returncode, produced)


def _shieldwall_command() -> str:
    """The ``shieldwall`` script of this interpreter's environment, else the one on PATH.

    Not a version manager's shim (pyenv's is a shell script that runs ``pyenv exec``):
    its CPU time (~0.15 s per run) is the shim's, not shieldwall's.
    """
    own = Path(sysconfig.get_path("scripts")) / "shieldwall"
    if own.exists():
        return str(own)
    return shutil.which("shieldwall") or sys.exit("shieldwall is not on PATH: pip install -e .")


def _compile_bytecode() -> None:
    """Write shieldwall's bytecode, as an installed package has it (pip compiles at install).

    Where PYTHONDONTWRITEBYTECODE is set (as on the test machines) an editable install
    has none, and every measured run would compile ~100 modules again: ~0.1 CPU s.
    """
    import compileall

    import shieldwall

    compileall.compile_dir(str(Path(shieldwall.__file__).parent), quiet=1)


#: The goals of issue 17, printed side by side with what one run measured.
SSHD_GOAL = 2.0  # x sshguard's parser, lines per CPU-second
WEB_GOAL = 1_000_000  # lines per CPU-second
RSS_GOAL_MB = 60.0


def goals(lines: int, sshd: list[Run], web: list[Run]) -> None:
    """The two ratios of one run against their goals, and the peak RSS."""
    ours = next((r for r in sshd if r.name == "shieldwall"), None)
    peer = next((r for r in sshd if r.name == "sshg-parser"), None)
    print("\n  goals (one run; with --repeat, each tool's least CPU of its turns):")
    if ours is not None and peer is not None and peer.cpu > 0:
        ratio = peer.cpu / ours.cpu
        print(f"    sshd: shieldwall / sshg-parser = {ratio:.2f}x (goal >= {SSHD_GOAL:.1f}x: "
              f"{'met' if ratio >= SSHD_GOAL else 'NOT met'})")
    web_run = next((r for r in web if r.name == "shieldwall"), None)
    if web_run is not None:
        rate = lines / max(web_run.cpu, 1e-9)
        print(f"    web: {rate:,.0f} lines per CPU-second = {rate / WEB_GOAL:.2f}x the goal of "
              f"{WEB_GOAL:,} ({'met' if rate >= WEB_GOAL else 'NOT met'})")
    peak = max((r.maxrss_kib / 1024 for r in [*sshd, *web] if r.name == "shieldwall"), default=0.0)
    print(f"    peak RSS of shieldwall: {peak:.1f} MB (goal <= {RSS_GOAL_MB:.0f} MB: "
          f"{'met' if peak <= RSS_GOAL_MB else 'NOT met'})")


def report(lines: int, runs: list[Run]) -> None:
    print(f"\n  {'tool':<12} {'lines/CPU-s':>14} {'CPU s':>8} {'wall s':>8} {'peak RSS':>10} {'output':>8}")
    for r in runs:
        print(f"  {r.name:<12} {lines / max(r.cpu, 1e-9):>14,.0f} {r.cpu:>8.2f} {r.wall:>8.2f} "
              f"{r.maxrss_kib / 1024:>8.1f}MB {r.stdout_lines:>8}")
    base = next((r for r in runs if r.name == "shieldwall"), None)
    if base is None:
        return
    for r in runs:
        if r is not base and r.cpu > 0:
            print(f"  shieldwall / {r.name}: {r.cpu / base.cpu:.2f}x (lines per CPU-second)")


def breakdown(log: Path, pack_name: str) -> None:
    """In-process split of the pipeline's CPU time: scan alone, events, events + detection.

    Best of three runs each, on 2 MiB chunks as replay reads them.
    """
    from shieldwall.detection.detector import Detector
    from shieldwall.detection.scenario import default_scenarios
    from shieldwall.events.packs import load_pack
    from shieldwall.events.stream import EventStream

    data = log.read_bytes()
    chunks, start = [], 0
    while start < len(data):
        end = data.rfind(b"\n", start, start + 2 * 1024 * 1024) + 1 or len(data)
        chunks.append(data[start:end])
        start = end
    lines = data.count(b"\n")
    pack = load_pack(pack_name)

    def run(stage: str) -> float:
        stream = EventStream(pack, year=2025)
        detector = Detector(default_scenarios())
        finditer = stream.scanner.regex.finditer
        began = time.process_time()
        for chunk in chunks:
            if stage == "regex only":
                for _ in finditer(b"\n" + chunk):
                    pass
            elif stage == "events":
                stream.feed(chunk)
            else:
                detector.feed(stream.feed(chunk))
        return time.process_time() - began

    print(f"  in-process split ({pack_name}, best of 3):")
    for stage in ("regex only", "events", "events + detection"):
        best = min(run(stage) for _ in range(3))
        print(f"    {stage:<20} {best:6.2f} CPU s  {lines / best:>12,.0f} lines/CPU-s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--same-addresses", action="store_true",
                        help="keep OpenSSH_2k's 30 addresses in every copy (default: distinct per copy)")
    parser.add_argument("--skip", action="append", default=[], choices=["sshguard", "fail2ban"],
                        help="do not run this tool")
    parser.add_argument("--web", action="store_true", help="also bench a web access log")
    parser.add_argument("--keep", type=Path, default=None, help="write the logs here and keep them")
    parser.add_argument("--breakdown", action="store_true",
                        help="also split shieldwall's CPU time in-process: regex, events, detection")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each command N times in turns; judge each tool on its least CPU")
    args = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    global _LAUNCHER
    _LAUNCHER = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
    _LAUNCHER.submit(int).result()  # start it now, while this process is small
    shieldwall = _shieldwall_command()
    _compile_bytecode()
    workdir = Path(tempfile.mkdtemp(prefix="shieldwall-bench-")) if args.keep is None else args.keep
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        log = workdir / "sshd-1m.log"
        started = time.perf_counter()
        distinct = build_sshd_log(log, args.lines, not args.same_addresses)
        print(f"sshd log: {args.lines:,} lines, {distinct:,} distinct addresses, "
              f"{log.stat().st_size / 1e6:.0f} MB (built in {time.perf_counter() - started:.1f} s)")
        commands: list[tuple[str, list[str], Path | None]] = [
            ("shieldwall", [shieldwall, "replay", "--json", "--pack", "sshd", str(log)], None)]
        if "sshguard" not in args.skip:
            if SSHG_PARSER.exists():
                commands.append(("sshg-parser", [str(SSHG_PARSER)], log))
            else:
                print(f"  (skipped sshguard: {SSHG_PARSER} missing; apt-get install sshguard)")
        if "fail2ban" not in args.skip:
            f2b = shutil.which("fail2ban-regex")
            if f2b and F2B_FILTER.exists():
                commands.append(("fail2ban", [f2b, str(log), str(F2B_FILTER)], None))
            else:
                print("  (skipped fail2ban: fail2ban-regex missing; apt-get install fail2ban)")
        runs = measure_turns(commands, args.repeat)
        report(args.lines, runs)
        if args.breakdown:
            breakdown(log, "sshd")
        web_runs: list[Run] = []
        if args.web:
            web = workdir / "access-1m.log"
            started = time.perf_counter()
            distinct = build_web_log(web, args.lines, not args.same_addresses)
            print(f"\nweb log: {args.lines:,} lines, {distinct:,} distinct addresses "
                  f"(built in {time.perf_counter() - started:.1f} s)")
            web_command = [shieldwall, "replay", "--json", "--pack", "http", str(web)]
            web_runs = measure_turns([("shieldwall", web_command, None)], args.repeat)
            report(args.lines, web_runs)
            if args.breakdown:
                breakdown(web, "http")
        goals(args.lines, runs, web_runs)
    finally:
        _LAUNCHER.shutdown()
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
