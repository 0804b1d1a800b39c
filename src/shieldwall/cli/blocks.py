"""Operator commands: ``ban``, ``unban``, ``blocks`` and ``import``.

On a host without a hub, a ban is applied locally: written to the block store,
put in the firewall at once, exports regenerated. On a member of an alliance it
is also sent to the hub as a signed ``Signal(kind="ban")`` (an unban as
``retract``) with the member's :class:`~shieldwall.signals.client.HubClient`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from shieldwall import durations
from shieldwall.addresses import canonical_target, is_reserved, load_ranges, target_network
from shieldwall.cli.enforce import (
    backend_option,
    data_dir_option,
    exports_dir,
    never_block_option,
    open_enforcer,
    sync_firewall,
)
from shieldwall.cli.progress import counted_lines, progress, quiet_option, steps
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.exports import write_exports
from shieldwall.enforcers.imports import screen_blocklist
from shieldwall.enforcers.nftables import NftablesEnforcer
from shieldwall.enforcers.plan import Plan
from shieldwall.enforcers.store import BlockStore, data_dir
from shieldwall.errors import AddressError, ConfigError, EnforcerError, HubError, SignalError
from shieldwall.signals.member_state import STATE_FILE, load_member_state
from shieldwall.signals.signal import Signal


def parse_duration(text: str) -> float:
    """Seconds of a ban: ``90s``, ``4h``, ``1h30m``, ``2d``, ``1w``; ``forever`` or ``0``: no expiry."""
    seconds = durations.parse_duration(text, "--for", allow_forever=True)
    if seconds <= 0:
        raise ConfigError(f"--for: a duration must be positive: {text!r}")
    return seconds


def alliance_link(directory: Path) -> Callable[[Signal], None] | None:
    """A function that signs and sends one signal to this member's hub.

    ``None`` when the host has not joined an alliance (no ``member.json`` in the
    data directory): bans are then local only.
    """
    if not (directory / STATE_FILE).exists():
        return None
    state = load_member_state(directory)
    # Imported here: httpx and TLS set-up are only needed on an alliance member.
    from shieldwall.signals.client import HubClient

    def send(signal: Signal) -> None:
        async def deliver() -> None:
            async with HubClient(state, attempts=3) as hub:
                await hub.send([signal])

        asyncio.run(deliver())

    return send


def _signal(directory: Path, signal: Signal, what: str) -> str:
    link = alliance_link(directory)
    if link is None:
        return ""
    try:
        link(signal)
    except (HubError, SignalError) as exc:
        # The local block already holds; the operator must know the alliance did not hear.
        click.echo(f"warning: {what} NOT signalled to the hub: {exc}", err=True)
        return f", {what} not signalled to the hub"
    return f", {what} signalled to the hub"


def _open_firewall(backend: str, firewall: bool) -> NftablesEnforcer | None:
    """The enforcer, opened before anything is recorded so that a host without
    nftables fails early and cleanly; ``None`` with ``--no-firewall``."""
    if not firewall:
        return None
    try:
        return open_enforcer(backend)
    except EnforcerError as exc:
        raise EnforcerError(f"{exc} (or pass --no-firewall to only record the block)") from None


def _firewall(
    enforcer: NftablesEnforcer | None,
    change: Plan,
    store: BlockStore,
    now: float,
    reconcile: bool = False,
) -> str:
    if enforcer is None:
        return "firewall left alone (--no-firewall)"
    try:
        if reconcile:
            enforcer.reconcile(store.active(now), now)
        else:
            sync_firewall(enforcer, change, store.active(now), now)
    except EnforcerError as exc:
        raise EnforcerError(
            f"{exc}; the change is recorded in the block store and `shieldwall enforce apply` will apply it"
        ) from None
    return "firewall updated"


firewall_option = click.option(
    "--firewall/--no-firewall",
    default=True,
    help="Also apply to nftables at once [default: yes].",
)


@click.command("ban")
@click.argument("address")
@click.option("--for", "duration", default="4h", show_default=True, help="How long: 30m, 4h, 2d...")
@click.option("--reason", default="", help="Why (kept with the block, sent to the hub).")
@data_dir_option
@backend_option
@never_block_option
@firewall_option
def ban(
    address: str,
    duration: str,
    reason: str,
    data_dir: Path | None,
    backend: str,
    never_block: Sequence[Path],
    firewall: bool,
) -> None:
    """Block an address or CIDR now, for a while.

    \b
    Example:
      shieldwall ban 203.0.113.7 --for 4h --reason "credential stuffing on /login"
      shieldwall ban 2001:db8:bad::/48 --for 2d
    """
    try:
        target = canonical_target(address)
    except AddressError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from None
    net = target_network(target)
    label = load_ranges(never_block).protecting(net)
    if label is not None:
        raise ConfigError(f"refusing to ban {target}: it is protected by {label}")
    if is_reserved(net):
        click.echo(f"note: {target} is not a public address", err=True)
    seconds = parse_duration(duration)
    now = time.time()
    block = Block(
        target,
        now + seconds,
        origin="operator",
        scenario="operator-ban",
        reason=reason,
        created=now,
    )
    enforcer = _open_firewall(backend, firewall)
    directory = data_dir_of(data_dir)
    store = BlockStore.open(directory)
    store.put([block])
    # remove + add: re-adding an element that exists would keep its old timeout.
    done = _firewall(enforcer, Plan(add=(block,), remove=(target,)), store, now)
    write_exports(exports_dir(directory), store.active(now).values(), now)
    done += _signal(
        directory,
        Signal(
            kind="ban",
            target=target,
            scenario="operator-ban",
            first_seen=now,
            last_seen=now,
            duration=0.0 if math.isinf(seconds) else seconds,
            reason=reason,
        ),
        "ban",
    )
    until = (
        "forever"
        if math.isinf(block.until)
        else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(block.until))
    )
    click.echo(f"banned {target} until {until}: {done}")


@click.command("unban")
@click.argument("address")
@data_dir_option
@backend_option
@firewall_option
def unban(address: str, data_dir: Path | None, backend: str, firewall: bool) -> None:
    """Lift a block on an address or CIDR.

    \b
    Example:
      shieldwall unban 203.0.113.7
    """
    try:
        target = canonical_target(address)
    except AddressError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from None
    now = time.time()
    enforcer = _open_firewall(backend, firewall)
    directory = data_dir_of(data_dir)
    store = BlockStore.open(directory)
    existed = store.remove([target])
    done = _firewall(enforcer, Plan(remove=(target,)), store, now)
    write_exports(exports_dir(directory), store.active(now).values(), now)
    done += _signal(
        directory,
        Signal(
            kind="retract",
            target=target,
            scenario="operator-ban",
            first_seen=now,
            last_seen=now,
        ),
        "retraction",
    )
    note = "" if existed else " (it was not in the block store)"
    click.echo(f"unbanned {target}{note}: {done}")


@click.command("blocks")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def blocks(data_dir: Path | None, as_json: bool) -> None:
    """List the active blocks of this member, with time left and origin.

    \b
    Example:
      shieldwall blocks
      shieldwall blocks --json | jq .target
    """
    now = time.time()
    active = BlockStore.open(data_dir_of(data_dir)).active(now)
    for block in active.values():
        left = "forever" if math.isinf(block.until) else _short(block.until - now)
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "target": block.target,
                        "until": None if math.isinf(block.until) else block.until,
                        "origin": block.origin,
                        "scenario": block.scenario,
                        "reason": block.reason,
                    }
                )
            )
        else:
            click.echo(f"{block.target:<40} {left:>10}  {block.origin}  {block.reason}".rstrip())
    if not as_json:
        click.echo(f"{len(active)} active", err=True)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@never_block_option
@click.option(
    "--min-count",
    default=1,
    show_default=True,
    help="ipsum-style lists: keep entries seen on at least this many lists.",
)
@click.option(
    "--for",
    "duration",
    default="1d",
    show_default=True,
    help="How long imported blocks last (re-import from cron to refresh).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be imported; change nothing.")
@data_dir_option
@backend_option
@firewall_option
@quiet_option
def import_command(
    file: Path,
    never_block: Sequence[Path],
    min_count: int,
    duration: str,
    dry_run: bool,
    data_dir: Path | None,
    backend: str,
    firewall: bool,
    quiet: bool,
) -> None:
    """Import a public blocklist (plain, ipsum IP<TAB>count, FireHOL netset).

    Private, reserved and too-wide entries, and entries touching a never-block
    list, are refused and counted by reason. On a terminal a progress bar
    shows the list being read, then each step of the import.

    \b
    Example:
      shieldwall import ipsum.txt --min-count 3 --never-block /etc/shieldwall/never-block.txt
    """
    protected = load_ranges(never_block)
    try:
        with file.open(encoding="utf-8", errors="replace") as handle, progress(
            f"reading {file.name}", file.stat().st_size, rate_unit="lines", quiet=quiet
        ) as bar:
            report = screen_blocklist(counted_lines(handle, bar), protected, min_count=min_count)
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
    click.echo(f"{file.name}: {report.describe()}")
    if dry_run:
        return
    seconds = parse_duration(duration)
    now = time.time()
    new = [
        Block(t, now + seconds, origin=f"import:{file.name}", scenario="blocklist", created=now)
        for t in report.accepted
    ]
    enforcer = _open_firewall(backend, firewall)
    directory = data_dir_of(data_dir)
    with steps(f"importing {len(new):,} blocks", 3, quiet=quiet) as step:
        step("writing the block store")
        store = BlockStore.open(directory)
        store.put(new)
        step("applying to the firewall")
        # A full reconcile, not a plain add: re-imported entries get their new expiry.
        done = _firewall(enforcer, Plan(), store, now, reconcile=True)
        step("writing exports")
        write_exports(exports_dir(directory), store.active(now).values(), now)
    click.echo(f"imported {len(new)} blocks for {duration}: {done}")


def data_dir_of(explicit: Path | None) -> Path:
    """The data directory to use (see :func:`shieldwall.enforcers.store.data_dir`)."""
    return data_dir(explicit)


def _short(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{max(seconds, 0):.0f}s"
