"""``shieldwall replay``: detect attacks in whole log files."""

from __future__ import annotations

import codecs
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path

import click
import msgspec

from shieldwall.addresses import DEFAULT_IPV6_PREFIX, parse_ranges
from shieldwall.cli.main import command_errors
from shieldwall.cli.progress import Progress, progress, quiet_option
from shieldwall.detection.detection import Detection
from shieldwall.detection.detector import Detector
from shieldwall.detection.proxies import ProxyGuard, UserAgentSpread
from shieldwall.detection.reorder import DEFAULT_BOUND, Reorder
from shieldwall.detection.scenario import load_scenarios
from shieldwall.durations import parse_duration
from shieldwall.errors import SourceError
from shieldwall.events import engine
from shieldwall.events.attempts import DEFAULT_MAX_AUTH_TRIES
from shieldwall.events.autodetect import SNIFF_BYTES, PackSniffer
from shieldwall.events.packs import PackSpec, builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream
from shieldwall.sources.lines import LineStats
from shieldwall.sources.replay import iter_file_chunks

#: Bytes of each chunk (a MiB) whose user agents are counted: a proxy's many clients show
#: in any sample of its traffic; reading every line would cost a tenth of a web replay.
_SPREAD_SAMPLE = 16 * 1024
#: Detections per write of the report (one system call each when stdout is unbuffered).
_REPORT_BATCH = 256


def _written(path: str) -> float | None:
    """When the file was last written (its mtime), or None for stdin."""
    if path == "-":
        return None
    return os.stat(path).st_mtime


def _year(latest: float | None) -> int:
    stamp = dt.datetime.now(dt.UTC) if latest is None else dt.datetime.fromtimestamp(latest, dt.UTC)
    return stamp.year


def _size(path: str) -> int:
    """Bytes on disk of ``path`` (0 for stdin or what cannot be stat'ed: no bar share)."""
    if path == "-":
        return 0
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # iter_file_chunks says why, with the file's name


class _Replayer:
    """Feeds whole files through their packs into one detector."""

    def __init__(self, detector: Detector, explicit: list[PackSpec], auto: bool,
                 year: int | None, ipv6_prefix: int, keep_lines: bool,
                 max_auth_tries: int = DEFAULT_MAX_AUTH_TRIES,
                 reorder: float = DEFAULT_BOUND, guard: ProxyGuard | None = None) -> None:
        self.detector = detector
        self.explicit = explicit
        self.auto = auto
        self.year = year
        self.ipv6_prefix = ipv6_prefix
        self.keep_lines = keep_lines
        self.max_auth_tries = max_auth_tries
        self.reorder = Reorder(reorder)
        self.guard = guard or ProxyGuard()
        #: Access-log clients with too many user agents (sampled: each chunk's start).
        self.spread = UserAgentSpread()
        self.proxy_warnings: list[str] = []
        self.line_stats = LineStats()
        self._every: list[PackSpec] | None = None
        self.on_re: set[str] = set()
        #: Files read with at least one pack (none: replay exits 2).
        self.read_files = 0

    def _say_engine(self, streams: list[EventStream]) -> None:
        """Say which packs the compiled engine leaves to Python's re (the summary names the engine)."""
        for s in streams:
            if s.engine == "python" and engine.wanted() == "compiled" and s.pack.name not in self.on_re:
                self.on_re.add(s.pack.name)
                click.echo(f"shieldwall replay: pack {s.pack.name} runs on Python's re "
                           f"(PCRE2 cannot compile it)", err=True)

    def file(self, path: str, size: int, bar: Progress) -> tuple[int, int]:
        """(lines read, lines matched) of one file; advances ``bar`` by its size."""
        chunks = iter_file_chunks(path, stats=self.line_stats)  # opens now: errors before work
        latest = None if self.year else _written(path)
        year = self.year or _year(latest)

        def stream(pack: PackSpec) -> EventStream:
            return EventStream(pack, year=year, ipv6_prefix=self.ipv6_prefix,
                               keep_lines=self.keep_lines, latest=latest,
                               max_auth_tries=self.max_auth_tries)

        streams = [stream(p) for p in self.explicit]
        self._say_engine(streams)
        sniffer = None
        if self.auto:
            if self._every is None:
                self._every = [load_pack(n) for n in builtin_pack_names()]
            sniffer = PackSniffer([p for p in self._every if p not in self.explicit])
        lines = advanced = 0
        for chunk in chunks:
            if sniffer is not None and sniffer.searching:
                # Lines before a pack's first fitting line match none of its patterns,
                # so a stream started here has missed no event.
                new = sniffer.observe(chunk, lines)
                if new:
                    said = "chose" if len(sniffer.chosen) == len(new) else "also chose"
                    click.echo(f"shieldwall replay: {path}: --pack auto {said} "
                               + ", ".join(c.describe() for c in new), err=True)
                    streams += [stream(c.pack) for c in new]
                    self._say_engine(streams)
            counted = streams[0].stats.lines if streams else 0
            for s in streams:
                self.detector.feed(self.reorder.push(self.guard.filter(s.feed(chunk))))
                if s.pack.format == "access":
                    self.proxy_warnings += self.spread.observe(chunk[:_SPREAD_SAMPLE])
            # A stream counts the lines it is fed (a chunk is complete lines): not twice.
            count = streams[0].stats.lines - counted if streams else chunk.count(b"\n")
            lines += count
            # Compressed files yield more bytes than they hold on disk: cap at their size.
            step = min(len(chunk), size - advanced)
            advanced += step
            bar.advance(step, count)
        bar.advance(size - advanced)
        matched = sum(s.stats.matched for s in streams)
        if sniffer is not None and not streams:
            click.echo(f"shieldwall replay: {path}: --pack auto: no pack recognises any of its "
                       f"{lines} lines; choose one with --pack ({', '.join(builtin_pack_names())})",
                       err=True)
        elif self.auto and not matched:
            click.echo(f"shieldwall replay: {path}: no line matched a pattern of "
                       f"{', '.join(s.pack.name for s in streams)}", err=True)
        if sniffer is not None and sniffer.sampled and sniffer.searching:
            # Sniffing whole chunks for every other pack's literals would cost more than
            # the replay itself; say what was not looked at instead of missing it quietly.
            click.echo(f"shieldwall replay: {path}: once a pack was chosen, --pack auto looked"
                       f" for other services only in the first {SNIFF_BYTES // 1024} KiB of each"
                       " later MiB; name a service with --pack to read every line with it",
                       err=True)
        self.read_files += bool(streams)
        return lines, matched


def _report(detections: list[Detection], as_json: bool) -> None:
    """One line per detection on stdout, a few hundred lines per write.

    With PYTHONUNBUFFERED (or a stream that flushes per line) one write per detection
    would be one system call each. JSON lines go straight to the bytes under a UTF-8
    stdout: the same bytes, not decoded to text and encoded again (14 MB on the web bench).
    """
    out = sys.stdout
    raw = getattr(out, "buffer", None) if codecs.lookup(out.encoding or "ascii").name == "utf-8" else None
    if raw is not None:
        out.flush()  # what the text layer holds goes first
    encoder = msgspec.json.Encoder()
    for start in range(0, len(detections), _REPORT_BATCH):
        batch = detections[start:start + _REPORT_BATCH]
        if as_json:
            data = encoder.encode_lines([detection.to_json() for detection in batch])
            if raw is not None:
                raw.write(data)
            else:
                out.write(data.decode())
            continue
        report = []
        for detection in batch:
            d = detection.to_json()
            report.append(f"{d['ip']:<22} {d['scenario']:<24} count={d['count']:<5} "
                          f"{d['first_seen']} .. {d['last_seen']}  [{d['pack']}]")
        out.write("\n".join(report) + "\n")
    out.flush()


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--pack", "pack_names", multiple=True, default=["auto"], show_default=True,
              help="Pattern pack name or .toml path; repeat for several; 'auto' picks from content.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per detection.")
@click.option("--scenarios", type=click.Path(dir_okay=False), default=None,
              help="Scenarios TOML file (default: the shipped scenarios).")
@click.option("--allow", "allow", multiple=True,
              help="Address or CIDR never detected; repeatable.")
@click.option("--allowlist", "allowlist_files", multiple=True, type=click.Path(dir_okay=False),
              help="File of addresses/CIDRs never detected (one per line, # comments).")
@click.option("--ipv6-prefix", default=DEFAULT_IPV6_PREFIX, show_default=True,
              type=click.IntRange(1, 128), help="Count IPv6 sources per prefix of this length.")
@click.option("--year", type=int, default=None,
              help="Year of syslog timestamps that carry none (default: the file's mtime year).")
@click.option("--max-auth-tries", default=DEFAULT_MAX_AUTH_TRIES, show_default=True,
              type=click.IntRange(1, 1000),
              help="The server's MaxAuthTries: the attempts a connection that ran out of them stands for.")
@click.option("--reorder", "reorder", default=f"{DEFAULT_BOUND:g}s", show_default=True,
              help="Put lines out of time order by up to this much log time back in order "
                   "(several workers, merged files); 0 turns it off.")
@click.option("--proxy", "proxies", multiple=True,
              help="Address or CIDR of a reverse proxy in front of this host: never blamed; repeatable.")
@click.option("--own-address", "own", multiple=True,
              help="This host's own address or CIDR: never blamed; repeatable.")
@click.option("--no-evidence", is_flag=True, help="Do not keep sample lines (faster).")
@quiet_option
def replay(
    files: tuple[str, ...],
    pack_names: tuple[str, ...],
    as_json: bool,
    scenarios: str | None,
    allow: tuple[str, ...],
    allowlist_files: tuple[str, ...],
    ipv6_prefix: int,
    year: int | None,
    max_auth_tries: int,
    reorder: str,
    proxies: tuple[str, ...],
    own: tuple[str, ...],
    no_evidence: bool,
    quiet: bool,
) -> None:
    """Read whole log files and print one line per detection.

    Counting runs on the time written in the log, so replaying the same file
    always gives the same detections. A summary (lines read, matched,
    detections, lines per CPU-second) goes to stderr. Use '-' for stdin. On a
    terminal a progress bar shows bytes read of the total and lines per second.
    With '--pack auto' (the default) stderr says which packs each file got and
    why; when no pack fits any file, replay exits 2 (a clean log of a service
    that a pack recognises is no error: it gives no detection).

    \b
    Examples:
      shieldwall replay /var/log/auth.log
      shieldwall replay --json --pack http /var/log/nginx/access.log
      zcat auth.log.2.gz | shieldwall replay --pack sshd -
    """
    with command_errors("replay"):
        started = time.process_time()
        wall = time.perf_counter()
        entries = list(allow)
        for name in allowlist_files:
            try:
                entries.extend(Path(name).read_text(encoding="utf-8").splitlines())
            except OSError as exc:
                raise SourceError(f"cannot read allowlist {name}: {exc.strerror}") from None
        detector = Detector(
            load_scenarios(scenarios),
            parse_ranges(entries, "--allow", widen=False),
            keep_evidence=not no_evidence,
            history=True,  # a replay reports every detection at the end
        )
        replayer = _Replayer(detector, [load_pack(n) for n in pack_names if n != "auto"],
                             "auto" in pack_names, year, ipv6_prefix, not no_evidence,
                             max_auth_tries, parse_duration(reorder, "--reorder"),
                             ProxyGuard(parse_ranges(proxies, "--proxy", widen=False),
                                        parse_ranges(own, "--own-address", widen=False)))
        lines = matched = 0
        sizes = {path: _size(path) for path in files}
        if engine.compiled is not None:
            engine.compiled.hold_heap()  # chunk buffers reuse their pages (see _engine.c)
        # Events, windows and detections hold no reference cycles: the cyclic collector
        # would only walk the (many) live windows again and again during a replay,
        # and once more for each batch of the report if it ran again before it.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with progress("replay", sum(sizes.values()), rate_unit="lines", quiet=quiet) as bar:
                for path in files:
                    lines_of_file, matched_of_file = replayer.file(path, sizes[path], bar)
                    lines += lines_of_file
                    matched += matched_of_file
            detector.feed(replayer.reorder.flush())
            if "auto" in pack_names and not replayer.read_files:
                raise SourceError(
                    f"no pack matched any of the {lines} lines read, so nothing could be detected; "
                    f"name the service with --pack ({', '.join(builtin_pack_names())}) or a pack "
                    f"file of your own (see 'shieldwall patterns test')"
                )
            line_stats = replayer.line_stats
            if replayer.guard.refused:
                click.echo(f"shieldwall replay: {replayer.guard.describe()}", err=True)
            for address in replayer.proxy_warnings:
                click.echo(f"shieldwall replay: warning: {UserAgentSpread.warning(address)}", err=True)
            detections = detector.detections or []
            _report(detections, as_json)
        finally:
            # What the replay built is about to go, by reference counts: set it aside, or
            # the collector's next run (at the summary's first allocation) walks it all.
            gc.freeze()
            if collecting:
                gc.enable()
        cpu = max(time.process_time() - started, 1e-9)
        elapsed = time.perf_counter() - wall
        click.echo(
            f"shieldwall replay: {lines} lines read, {matched} matched, "
            f"{len(detections)} detections, {line_stats.lines_cut} lines cut; "
            f"{lines / cpu:,.0f} lines per CPU-second ({elapsed:.2f} s); engine: {engine.describe()}",
            err=True,
        )
