"""``shieldwall patterns``: list the shipped packs, try them on a log, check their samples."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import click

from shieldwall.addresses import DEFAULT_IPV6_PREFIX
from shieldwall.cli.main import command_errors
from shieldwall.events.autodetect import SNIFF_BYTES, choose_packs
from shieldwall.events.packs import PackSpec, builtin_pack_names, load_pack
from shieldwall.events.trial import LineResult, Trial, check_samples
from shieldwall.sources.replay import iter_file_chunks


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def patterns() -> None:
    """Inspect pattern packs and try them on a log file.

    A pack is a TOML file of regular expressions for one service, each with
    annotated sample lines (hostile ones too). `test` shows, line by line, which
    pattern matched and which address it blames; `check` runs every sample.

    \b
    Examples:
      shieldwall patterns list
      shieldwall patterns test /var/log/auth.log --pack sshd
      shieldwall patterns check
    """


@patterns.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pack.")
def list_packs(as_json: bool) -> None:
    """List the shipped packs: format, program, patterns and what they count.

    \b
    Example:
      shieldwall patterns list --json
    """
    _guard(lambda: _list(as_json))


def _list(as_json: bool) -> None:
    for name in builtin_pack_names():
        pack = load_pack(name)
        kinds = sorted({p.kind for p in pack.patterns})
        if as_json:
            click.echo(json.dumps({
                "name": pack.name, "format": pack.format, "program": pack.program,
                "patterns": [p.name for p in pack.patterns], "kinds": kinds,
                "samples": len(pack.samples), "detect": list(pack.detect),
                "description": pack.description,
            }))
        else:
            click.echo(f"{pack.name:<9} {pack.format:<7} {len(pack.patterns):>2} patterns "
                       f"{len(pack.samples):>3} samples  {pack.description}")
            click.echo(f"{'':<9} kinds: {', '.join(kinds)}")


@patterns.command("test")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--pack", "pack_names", multiple=True, default=["auto"], show_default=True,
              help="Pack name or .toml path; repeat for several; 'auto' picks from content.")
@click.option("--show-unmatched/--no-show-unmatched", default=True, show_default=True,
              help="List the lines that matched nothing.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=0),
              help="Show at most this many matched and this many unmatched lines (0: all).")
@click.option("--json", "as_json", is_flag=True,
              help="One JSON object per shown line, then a summary object.")
@click.option("--year", type=int, default=None,
              help="Year of syslog timestamps that carry none (default: the file's mtime year).")
@click.option("--ipv6-prefix", default=DEFAULT_IPV6_PREFIX, show_default=True,
              type=click.IntRange(1, 128), help="Count IPv6 sources per prefix of this length.")
def test_file(
    file: str,
    pack_names: tuple[str, ...],
    show_unmatched: bool,
    limit: int,
    as_json: bool,
    year: int | None,
    ipv6_prefix: int,
) -> None:
    """Show which lines of FILE match which pattern and whom each blames.

    Lines are read in order with connection accounting, as the agent does: a
    line that repeats an attempt already counted, a connection record, or a line
    naming a host name instead of an address matches but blames nobody, and
    says why. Then come the lines that matched nothing, and counts.

    \b
    Examples:
      shieldwall patterns test /var/log/auth.log --pack sshd
      shieldwall patterns test access.log --pack http --no-show-unmatched
      shieldwall patterns test mail.log --pack ./my-postfix.toml --json
    """
    _guard(lambda: _test(file, pack_names, show_unmatched, limit, as_json, year, ipv6_prefix))


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield from chunk.splitlines()


def _test(
    file: str,
    pack_names: tuple[str, ...],
    show_unmatched: bool,
    limit: int,
    as_json: bool,
    year: int | None,
    ipv6_prefix: int,
) -> None:
    chunks = iter_file_chunks(file)
    packs: list[PackSpec] = [load_pack(n) for n in pack_names if n != "auto"]
    first = b""
    if "auto" in pack_names:
        first = next(chunks, b"")
        every = [load_pack(n) for n in builtin_pack_names()]
        packs += [p for p in choose_packs(first, every, whole_file=len(first) < SNIFF_BYTES)
                  if p.name not in {q.name for q in packs}]
        if not packs:
            chunks.close()  # closes the file now, not whenever the collector gets to it
            raise click.UsageError(
                f"{file}: no pack recognises this file; choose one with --pack "
                f"({', '.join(builtin_pack_names())})"
            )
    trial = Trial(packs, year=year or _year_of(file), ipv6_prefix=ipv6_prefix)
    shown = unmatched_shown = 0
    total = matched = counted = 0
    unmatched: list[LineResult] = []  # lines of the packs' services first, then others
    others: list[LineResult] = []
    service_unmatched = 0
    per_pattern: Counter[str] = Counter()
    blamed: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    out = sys.stdout
    for result in trial.run(_lines(_prepend(first, chunks))):
        total += 1
        if result.pattern is None:
            service_unmatched += result.looks_like is not None
            if show_unmatched:
                bucket = unmatched if result.looks_like else others
                if not limit or len(bucket) < limit:
                    bucket.append(result)
            continue
        matched += 1
        per_pattern[f"{result.pack}/{result.pattern}"] += 1
        if result.blamed:
            counted += 1
            blamed[result.blamed] += result.weight
        else:
            reasons[result.reason] += 1
        if limit and shown >= limit:
            continue
        shown += 1
        out.write(_render(result, as_json) + "\n")
    if show_unmatched:
        listed = (unmatched + others)[: limit or None]
        if not as_json and listed:
            out.write("\nlines that matched nothing (lines of the packs' services first):\n")
        for result in listed:
            unmatched_shown += 1
            out.write(_render(result, as_json) + "\n")
    summary: dict[str, Any] = {
        "summary": True, "file": file, "packs": [p.name for p in packs], "lines": total,
        "matched": matched, "counted": counted, "unmatched": total - matched,
        "unmatched_of_the_packs_services": service_unmatched,
        "per_pattern": dict(per_pattern.most_common()),
        "blamed": dict(blamed.most_common(20)), "not_counted": dict(reasons),
        "shown_matched": shown, "shown_unmatched": unmatched_shown,
    }
    if as_json:
        out.write(json.dumps(summary) + "\n")
        return
    out.write(f"\n{file}: {total} lines, {matched} matched ({counted} counted), "
              f"{total - matched} matched nothing ({service_unmatched} of them from the packs' "
              f"services); packs: {', '.join(summary['packs'])}\n")
    if matched > shown:
        out.write(f"  ({matched - shown} more matched lines not shown; --limit 0 shows all)\n")
    if show_unmatched and total - matched > unmatched_shown:
        out.write(f"  ({total - matched - unmatched_shown} more unmatched lines not shown)\n")
    for name, count in per_pattern.most_common():
        out.write(f"  {count:>8}  {name}\n")
    for reason, count in reasons.most_common():
        out.write(f"  {count:>8}  matched, not counted: {reason}\n")
    if blamed:
        out.write("  most blamed: " + ", ".join(f"{k} ({n})" for k, n in blamed.most_common(10)) + "\n")


def _year_of(file: str) -> int:
    """The year a log was last written (stdin: now): syslog stamps carry none."""
    when = dt.datetime.now(dt.UTC) if file == "-" else dt.datetime.fromtimestamp(
        os.stat(file).st_mtime, dt.UTC
    )
    return when.year


def _prepend(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from chunks


def _render(result: LineResult, as_json: bool) -> str:
    text = result.line.decode("utf-8", "backslashreplace")
    if as_json:
        return json.dumps({
            "line": result.number, "pack": result.pack, "pattern": result.pattern,
            "kind": result.kind, "blamed": result.blamed, "weight": result.weight,
            "reason": result.reason or None, "looks_like": result.looks_like, "text": text,
        })
    shown = text if len(text) <= 300 else text[:300] + f"... ({len(text)} chars)"
    if result.pattern is None:
        return f"{result.number:>7}  {shown}" + (f"   [{result.looks_like}]" if result.looks_like else "")
    who = (f"blames {result.blamed}" + (f" x{result.weight}" if result.weight > 1 else "")
           if result.blamed else f"blames nobody: {result.reason}")
    return f"{result.number:>7}  {result.pack}/{result.pattern} [{result.kind}] {who}\n         {shown}"


@patterns.command("check")
@click.option("--pack", "pack_names", multiple=True,
              help="Pack name or .toml path to check (default: every shipped pack).")
def check(pack_names: tuple[str, ...]) -> None:
    """Run every pack's annotated samples; exit 1 if any behaves otherwise.

    Each sample says which address it must blame (or none, for hostile and
    lawful lines) and which pattern must match it.

    \b
    Examples:
      shieldwall patterns check
      shieldwall patterns check --pack ./my-pack.toml
    """
    _guard(lambda: _check(pack_names))


def _check(pack_names: tuple[str, ...]) -> None:
    names = list(pack_names) or builtin_pack_names()
    failed = total = 0
    for name in names:
        pack = load_pack(name)
        mismatches = check_samples(pack)
        total += len(pack.samples)
        failed += len(mismatches)
        status = "ok" if not mismatches else f"{len(mismatches)} MISMATCH"
        click.echo(f"{pack.name:<9} {len(pack.samples):>3} samples  {status}")
        for mismatch in mismatches:
            click.echo(f"  {mismatch.describe()}")
    click.echo(f"{total - failed}/{total} samples as annotated")
    if failed:
        sys.exit(1)


def _guard(action: Any) -> None:
    """Run ``action``; a Shieldwall error becomes a message and exit code 2."""
    try:
        with command_errors("patterns"):
            action()
    except BrokenPipeError:
        # `| head` closed the pipe: not an error.
        os._exit(0)
