"""``shieldwall enforce``: put the member's blocks into nftables, inspect, remove.

The local block store (``<data dir>/blocks.sqlite3``) is the desired state;
``apply`` makes table ``inet shieldwall`` match it in one transaction and
regenerates the exports. Shared helpers used by ``ban``/``unban``/``import``
live here too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from shieldwall.addresses import Ranges, load_ranges, target_network
from shieldwall.cli.progress import quiet_option, steps
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.exports import write_exports
from shieldwall.enforcers.nft_ruleset import SETS, render_plan, render_uninstall, set_for
from shieldwall.enforcers.nftables import NftablesEnforcer, open_runner
from shieldwall.enforcers.plan import EXPIRY_TOLERANCE, Plan, firewall_blocks, plan_changes
from shieldwall.enforcers.store import BlockStore, data_dir
from shieldwall.errors import EnforcerError

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Member data directory [default: $SHIELDWALL_DATA_DIR or /var/lib/shieldwall/member].",
)
backend_option = click.option(
    "--backend",
    type=click.Choice(["auto", "lib", "command"]),
    default="auto",
    show_default=True,
    help="libnftables in-process (lib) or the nft command (command).",
)
never_block_option = click.option(
    "--never-block",
    "never_block",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A never-block list (address or CIDR per line); repeatable.",
)


def exports_dir(directory: Path | None) -> Path:
    """Where the exports of a data directory live."""
    return data_dir(directory) / "exports"


def open_enforcer(backend: str) -> NftablesEnforcer:
    """The nftables enforcer with the chosen runner (``EnforcerError`` if unavailable)."""
    return NftablesEnforcer(open_runner(backend))


def screen_desired(blocks: Mapping[str, Block], never_block: Ranges) -> tuple[dict[str, Block], list[str]]:
    """Drop blocks the never-block lists protect; the member's own lists always win."""
    kept: dict[str, Block] = {}
    skipped: list[str] = []
    for target, block in blocks.items():
        label = never_block.protecting(target_network(target)) if len(never_block) else None
        if label is None:
            kept[target] = block
        else:
            skipped.append(f"{target} (protected by {label})")
    return kept, skipped


def sync_firewall(enforcer: NftablesEnforcer, change: Plan, desired: Mapping[str, Block], now: float) -> Plan:
    """Apply a small change; if the table is not as expected, reconcile it whole."""
    try:
        enforcer.apply(change, now)
        return change
    except EnforcerError as exc:
        if "CAP_NET_ADMIN" in str(exc):
            raise
        return enforcer.reconcile(desired, now)


def abbreviate(batch: str, keep: int = 6) -> str:
    """A batch with long element lists cut to ``keep`` items, for display."""

    def cut(match: re.Match[str]) -> str:
        items = match.group(2).split(", ")
        if len(items) <= keep:
            return match.group(0)
        shown = ", ".join(items[:keep])
        return f"{match.group(1)}{{ {shown}, ... }} # {len(items)} elements"

    return re.sub(r"^((?:add|delete) element [^{]+)\{ (.*) \}$", cut, batch, flags=re.M)


@click.group("enforce")
def enforce() -> None:
    """Apply the member's blocks to nftables (table inet shieldwall), show, remove.

    \b
    Example:
      shieldwall enforce apply --dry-run
      shieldwall enforce apply
      shieldwall enforce status
      shieldwall enforce uninstall
    """


@enforce.command("apply")
@data_dir_option
@backend_option
@never_block_option
@click.option("--dry-run", is_flag=True, help="Print the batch that would run; change nothing.")
@quiet_option
def apply_command(data_dir: Path | None, backend: str, never_block: Sequence[Path], dry_run: bool,
                  quiet: bool) -> None:
    """Make table inet shieldwall match the block store, in one transaction.

    Adds what is missing, removes what expired or was lifted, and rebuilds the
    table if it was damaged (a set or rule deleted behind Shieldwall's back).
    On a terminal a progress bar names each step (a million blocks take seconds).

    \b
    Example:
      shieldwall enforce apply --dry-run --data-dir /var/lib/shieldwall/member
    """
    now = time.time()
    store = BlockStore.open(data_dir)
    desired, skipped = screen_desired(store.active(now), load_ranges(never_block))
    for line in skipped:
        click.echo(f"skipped {line}", err=True)
    if dry_run:
        try:
            plan = open_enforcer(backend).plan(desired, now)
        except EnforcerError as exc:
            click.echo(f"# cannot read the current table ({exc}); showing a full build", err=True)
            plan = plan_changes(desired, None, now)
        click.echo(f"# would {plan.summary()}")
        click.echo(abbreviate(render_plan(plan, now)), nl=False)
        return
    with steps(f"applying {len(desired):,} blocks", 2, quiet=quiet) as step:
        step("reconciling table inet shieldwall (one transaction)")
        plan = open_enforcer(backend).reconcile(desired, now)
        step("writing exports")
        write_exports(exports_dir(data_dir), desired.values(), now)
    store.purge(now)  # housekeeping: expired blocks are gone from the kernel already
    click.echo(f"applied: {plan.summary()} ({len(firewall_blocks(desired, now))} enforced)")


@enforce.command("status")
@data_dir_option
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_command(data_dir: Path | None, backend: str, as_json: bool) -> None:
    """Show the table, its element counts, dropped packets and drift from the store.

    Exits 1 when the table is missing, damaged or out of step with the store.

    \b
    Example:
      shieldwall enforce status --json
    """
    now = time.time()
    desired = BlockStore.open(data_dir).active(now)
    enforcer = open_enforcer(backend)
    started = time.monotonic()
    state = enforcer.state(now)
    reading = time.monotonic() - started  # each element's remaining time was read at a different moment
    want = firewall_blocks(desired, now)
    if state is None:
        report: dict[str, object] = {"table": "missing", "store": len(desired)}
        in_sync = not want
    else:
        counts = dict.fromkeys(SETS, 0)
        for target in state.elements:
            counts[set_for(target)] += 1
        actual = state.elements if state.intact else None
        plan = plan_changes(desired, actual, now, EXPIRY_TOLERANCE + reading)
        in_sync = state.intact and not plan
        report = {
            "table": "intact" if state.intact else "damaged",
            "problems": list(state.problems),
            "elements": counts,
            "dropped_packets": state.drops,
            "store": len(desired),
            "missing": len(plan.add) if state.intact else len(want),
            "extra": len(plan.remove),
        }
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"backend: {enforcer.runner.description}")
        for key, value in report.items():
            click.echo(f"{key}: {value}")
        if not in_sync:
            click.echo("out of step: run `shieldwall enforce apply`")
    if not in_sync:
        raise SystemExit(1)


@enforce.command("uninstall")
@backend_option
@click.option("--dry-run", is_flag=True, help="Print the batch that would run; change nothing.")
def uninstall_command(backend: str, dry_run: bool) -> None:
    """Delete table inet shieldwall, and nothing else; the block store is kept.

    \b
    Example:
      shieldwall enforce uninstall
    """
    if dry_run:
        click.echo(render_uninstall(), nl=False)
        return
    open_enforcer(backend).uninstall()
    click.echo("removed table inet shieldwall")
