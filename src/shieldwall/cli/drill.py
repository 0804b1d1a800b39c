"""``shieldwall drill``: order a drill across the alliance and read its reports (on the hub)."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from shieldwall.cli.hub import data_option
from shieldwall.errors import ConfigError, HubError

if TYPE_CHECKING:
    from shieldwall.drills.order import OrderBody, StageLimit
    from shieldwall.drills.report import DrillReport


@click.group("drill")
def drill() -> None:
    """Prove detect -> signal -> decide -> push -> enforce on every member at once.

    A drill names a documentation address only (192.0.2.0/24, 198.51.100.0/24,
    203.0.113.0/24, 2001:db8::/32): every member writes a real firewall element for
    it, reads it back and lifts it, and no real address is ever touched.

    \b
    Example:
      shieldwall drill run --data /var/lib/shieldwall/hub
    """


def new_order_body(members: tuple[str, ...], stages: tuple[str, ...], target: str, ttl: int,
                   now: float) -> OrderBody:
    """The order body for ``drill run`` (checked here so the operator hears why at once)."""
    from shieldwall.drills.order import MAX_TTL, OrderBody, target_refusal, valid_stages

    why = target_refusal(target)
    if why is not None:
        raise ConfigError(why)
    if not valid_stages(stages):
        raise ConfigError("--stages must be a prefix of detect,signal,decide,push,enforce"
                          " (push comes with enforce)")
    if not 0 < ttl <= MAX_TTL:
        raise ConfigError(f"--ttl must be between 1 and {MAX_TTL} seconds")
    if not members:
        raise ConfigError("no active members to drill; invite some with `shieldwall hub invite`")
    return OrderBody(id=f"drill-{secrets.token_hex(6)}", target=target, issued=int(now), ttl=ttl,
                     members=members, stages=stages)  # type: ignore[arg-type]


def parse_limits(items: tuple[str, ...]) -> tuple[StageLimit, ...]:
    """``STAGE=SECONDS`` options as stage limits; raises :class:`ConfigError`."""
    from shieldwall.drills.order import DEFAULT_LIMITS, StageLimit

    found = []
    for item in items:
        stage, _, value = item.partition("=")
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if stage not in DEFAULT_LIMITS or not 0 < seconds <= 3600:
            raise ConfigError(f"--limit {item!r}: want STAGE=SECONDS with STAGE one of"
                              f" {', '.join(DEFAULT_LIMITS)} and 0 < SECONDS <= 3600")
        found.append(StageLimit(stage, seconds))
    return tuple(found)


@drill.command("run")
@data_option
@click.option("--members", "chosen", default="all", show_default=True,
              help="all, or member names separated by commas.")
@click.option("--stages", default="detect,signal,decide,push,enforce", show_default=True,
              help="How far the chain runs (a prefix of the default).")
@click.option("--target", default=None,
              help="The drill address (default: one in 198.51.100.0/24).")
@click.option("--ttl", default=120, show_default=True, help="Seconds the drill may live (<= 300).")
@click.option("--limit", "limits", multiple=True, metavar="STAGE=SECONDS",
              help="A stage's time limit (e.g. push=2); repeatable. Slower stops the drill.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sign with this key (the council chair's) instead of the hub's.")
@click.option("--order", "order_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Run an order signed offline (`shieldwall drill sign`).")
def run(data_dir: Path, chosen: str, stages: str, target: str | None, ttl: int,
        limits: tuple[str, ...], as_json: bool, key_file: Path | None,
        order_file: Path | None) -> None:
    """Order a drill and wait for its report.

    The operator orders with the hub's key until a council exists; under a council its
    chair orders: `--key chair.key` here, or `shieldwall drill sign` on the chair's
    machine and `--order FILE` here. The serving hub conducts it; this command only
    orders and waits. Exit 1 when the drill failed (see the report for which member,
    which stage and why).

    \b
    Example:
      shieldwall drill run --data /var/lib/shieldwall/hub --members web1,web2
      shieldwall drill run --data /var/lib/shieldwall/hub --key alice.key
    """
    from shieldwall.cli.drill_council import check_signer, load_order, signing_seed
    from shieldwall.drills.journal import put_order, report_of
    from shieldwall.drills.order import sign_order
    from shieldwall.hub.config import load_hub_config
    from shieldwall.hub.create import with_ledger
    from shieldwall.hub.ledger.storage import Ledger

    config = load_hub_config(data_dir)
    seed, issuer = signing_seed(config, key_file)

    async def work(ledger: Ledger) -> DrillReport | None:
        active = [m.name for m in await ledger.members() if m.active]
        if order_file is not None:
            order = load_order(order_file)
            names = order.body.members
        else:
            names = tuple(active) if chosen == "all" else tuple(
                n.strip() for n in chosen.split(",") if n.strip())
        unknown = sorted(set(names) - set(active))
        if unknown:
            raise ConfigError(f"not active members of this hub: {', '.join(unknown)}")
        if order_file is None:
            address = target or f"198.51.100.{secrets.randbelow(254) + 1}"
            body = new_order_body(names, tuple(s.strip() for s in stages.split(",")), address,
                                  ttl, time.time())
            body = msgspec.structs.replace(body, limits=parse_limits(limits), issuer=issuer)
            order = sign_order(seed, body)
        body = order.body
        check_signer(config, order, time.time())  # the hub would refuse it: say why now
        await put_order(ledger, order, time.time())
        if not as_json:
            click.echo(f"drill {body.id} ordered on {body.target} for {len(names)} members;"
                       " waiting for the hub to conduct it...", err=True)
        deadline = time.time() + body.ttl + 15
        while time.time() < deadline:
            report = await report_of(ledger, body.id)
            if report is not None:
                return report
            await asyncio.sleep(0.2)
        return None

    report = asyncio.run(with_ledger(config, work))
    if report is None:
        raise HubError("no drill report arrived: is `shieldwall hub serve` running on this ledger?")
    _show(report, as_json)
    if not report.passed:
        sys.exit(1)


@drill.command("report")
@data_option
@click.argument("drill_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(data_dir: Path, drill_id: str | None, as_json: bool) -> None:
    """Show a drill's report (default: the latest).

    \b
    Example:
      shieldwall drill report drill-3f2a9c01b4d7 --json
    """
    from shieldwall.drills.journal import recent_reports, report_of
    from shieldwall.hub.config import load_hub_config
    from shieldwall.hub.create import with_ledger
    from shieldwall.hub.ledger.storage import Ledger

    async def work(ledger: Ledger) -> DrillReport | None:
        if drill_id:
            return await report_of(ledger, drill_id)
        latest = await recent_reports(ledger, 1)
        return latest[0] if latest else None

    found = asyncio.run(with_ledger(load_hub_config(data_dir), work))
    if found is None:
        raise ConfigError(f"no report for {drill_id}" if drill_id else
                          "no drill has run yet: `shieldwall drill run`")
    _show(found, as_json)


def _show(report: DrillReport, as_json: bool) -> None:
    from shieldwall.drills.report import render_report

    click.echo(msgspec.json.encode(report).decode() if as_json else render_report(report))


def _register() -> None:
    from shieldwall.cli.drill_council import schedule, sign, standing

    for command in (sign, standing, schedule):
        drill.add_command(command)


_register()
