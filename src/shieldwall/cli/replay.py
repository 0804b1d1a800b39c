"""``shieldwall replay``: detect attacks in whole log files."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import sys
import time
from pathlib import Path

import click
import msgspec

from shieldwall.cli.main import command_errors
from shieldwall.detection.allowlist import Allowlist
from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import load_scenarios
from shieldwall.errors import SourceError
from shieldwall.events.address import DEFAULT_IPV6_PREFIX
from shieldwall.events.autodetect import choose_packs
from shieldwall.events.packs import PackSpec, builtin_pack_names, load_pack
from shieldwall.events.stream import EventStream
from shieldwall.sources.lines import LineStats
from shieldwall.sources.replay import iter_file_chunks


def _written(path: str) -> float | None:
    """When the file was last written (its mtime), or None for stdin."""
    if path == "-":
        return None
    return os.stat(path).st_mtime


def _year(latest: float | None) -> int:
    stamp = dt.datetime.now(dt.UTC) if latest is None else dt.datetime.fromtimestamp(latest, dt.UTC)
    return stamp.year


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
@click.option("--no-evidence", is_flag=True, help="Do not keep sample lines (faster).")
def replay(
    files: tuple[str, ...],
    pack_names: tuple[str, ...],
    as_json: bool,
    scenarios: str | None,
    allow: tuple[str, ...],
    allowlist_files: tuple[str, ...],
    ipv6_prefix: int,
    year: int | None,
    no_evidence: bool,
) -> None:
    """Read whole log files and print one line per detection.

    Counting runs on the time written in the log, so replaying the same file
    always gives the same detections. A summary (lines read, matched,
    detections, lines per CPU-second) goes to stderr. Use '-' for stdin.

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
            Allowlist.from_strings(entries, "--allow"),
            keep_evidence=not no_evidence,
        )
        explicit = [load_pack(n) for n in pack_names if n != "auto"]
        every: list[PackSpec] | None = None
        lines = matched = 0
        line_stats = LineStats()
        for path in files:
            chunks = iter_file_chunks(path, stats=line_stats)  # opens now: errors before any work
            packs = list(explicit)
            if "auto" in pack_names:
                if every is None:
                    every = [load_pack(n) for n in builtin_pack_names()]
                first = next(chunks, b"")
                chunks = itertools.chain((first,), chunks)
                packs += [p for p in choose_packs(first, every) if p not in packs]
            if not packs:
                click.echo(f"shieldwall replay: {path}: no pack recognises this file; "
                           f"choose one with --pack ({', '.join(builtin_pack_names())})", err=True)
            latest = None if year else _written(path)
            streams = [
                EventStream(p, year=year or _year(latest), ipv6_prefix=ipv6_prefix,
                            keep_lines=not no_evidence, latest=latest)
                for p in packs
            ]
            for chunk in chunks:
                for stream in streams:
                    detector.feed(stream.feed(chunk))
                lines += chunk.count(b"\n")
            matched += sum(s.stats.matched for s in streams)
        out = sys.stdout
        encoder = msgspec.json.Encoder()
        for detection in detector.detections:
            if as_json:
                out.write(encoder.encode(detection.to_json()).decode() + "\n")
            else:
                d = detection.to_json()
                out.write(f"{d['ip']:<22} {d['scenario']:<24} count={d['count']:<5} "
                          f"{d['first_seen']} .. {d['last_seen']}  [{d['pack']}]\n")
        out.flush()
        cpu = max(time.process_time() - started, 1e-9)
        elapsed = time.perf_counter() - wall
        click.echo(
            f"shieldwall replay: {lines} lines read, {matched} matched, "
            f"{len(detector.detections)} detections, {line_stats.lines_cut} lines cut; "
            f"{lines / cpu:,.0f} lines per CPU-second ({elapsed:.2f} s)",
            err=True,
        )
