"""``shieldwall hub``: create, serve and run an alliance hub."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
import msgspec

from shieldwall.cli.hub_readiness import readiness as readiness_command
from shieldwall.errors import HubError
from shieldwall.hub.config import (
    DEFAULT_HUB_DIR,
    HubConfig,
    load_hub_config,
)
from shieldwall.hub.ledger.storage import Ledger

if TYPE_CHECKING:
    from shieldwall.hub.ledger.storage import MemberRecord
    from shieldwall.hub.policy import Policy

T = TypeVar("T")

data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_HUB_DIR, show_default=True, help="The hub's state folder.",
)


def with_ledger(config: HubConfig, work: Callable[[Ledger], Awaitable[T]]) -> T:
    """Run ``work`` against the hub's ledger and close it (from a command, outside a loop)."""
    from shieldwall.hub.create import with_ledger as run_with_ledger

    return asyncio.run(run_with_ledger(config, work))


@click.group("hub")
def hub() -> None:
    """Run the alliance hub: members, policy, decisions.

    \b
    Example:
      shieldwall hub init --data /var/lib/shieldwall/hub --address hub.example.org:8443
      shieldwall hub serve
      shieldwall hub invite --name web1 --expires 24h
    """


hub.add_command(readiness_command)  # `hub readiness`: the roster (cli/hub_readiness.py)


@hub.command("init")
@data_option
@click.option("--listen", default="0.0.0.0:8443", show_default=True, help="HOST:PORT to serve on.")
@click.option("--address", default=None,
              help="HOST:PORT members reach the hub at (put in join tokens). "
                   "Default: the listen address, or 127.0.0.1 when listening on all.")
@click.option("--never-block", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A never-block list (file or folder of *.txt); repeatable.")
@click.option("--allow", multiple=True, help="An alliance allowlist CIDR; repeatable.")
@click.option("--allow-reserved", is_flag=True,
              help="Let private and documentation addresses be blocked alliance-wide "
                   "(labs, alliances on private networks).")
@click.option("--database", default=None, metavar="postgresql://USER@HOST/DB",
              help="Create (or migrate forward) the PostgreSQL ledger schema for hub replicas.")
def init(data_dir: Path, listen: str, address: str | None, never_block: tuple[Path, ...],
         allow: tuple[str, ...], allow_reserved: bool, database: str | None) -> None:
    """Create a hub: database, Ed25519 identity, self-signed TLS certificate.

    \b
    Example:
      shieldwall hub init --data ./hub --address 192.0.2.10:8443 \\
        --never-block ../shared/data/public-dns-resolvers
    """
    from shieldwall.hub.create import init_hub

    if database is not None:
        from shieldwall.hub.config import CONFIG_FILE
        from shieldwall.hub.ledger.postgres.schema import initialise

        before, after = asyncio.run(initialise(database))
        click.echo(f"PostgreSQL ledger schema: version {before} -> {after}")
        if (data_dir / CONFIG_FILE).exists():
            return
    created = init_hub(data_dir, listen=listen, address=address, never_block=never_block,
                       allow=allow, allow_reserved=allow_reserved, database=database or "")
    fp = created.fingerprint
    click.echo(f"hub created in {data_dir}")
    click.echo(f"certificate fingerprint (sha256): {fp}")
    click.echo("next: shieldwall hub serve; then shieldwall hub invite --name NAME")


@hub.command("serve")
@data_option
@click.option("--listen", default=None, help="HOST:PORT (default: from hub.toml).")
def serve(data_dir: Path, listen: str | None) -> None:
    """Serve the hub API over HTTPS until interrupted.

    \b
    Example:
      shieldwall hub serve --data ./hub --listen 127.0.0.1:8443
    """
    from shieldwall.hub.server import serve as run

    config = load_hub_config(data_dir)
    if listen is not None:
        # Several replicas may share one data folder; each is named by its own address.
        config = dataclasses.replace(config, listen=listen)
    config.protections()
    # Refuse, with a message saying how to recover, a missing, damaged or rolled-back
    # ledger before serving anything from it.
    with_ledger(config, lambda ledger: ledger.check_integrity())
    from shieldwall.cli.up import local_address

    click.echo(f"dashboard (read-only, from this host): "
               f"https://{local_address(listen or config.listen)}/ui/", err=True)
    run(config, listen)


@hub.command("invite")
@data_option
@click.option("--name", default="", help="Name the member will have (default: it chooses).")
@click.option("--expires", default="24h", show_default=True, help="Token lifetime: 30m, 24h, 7d.")
@click.option("--owns", multiple=True,
              help="A range the member holds (repeatable); its claims at join must lie inside.")
@click.option("--address", "addresses", multiple=True, metavar="HOST:PORT",
              help="A replica's address for the member (repeatable, in the order tried;"
                   " default: hub.toml's public_addresses, else public_address).")
@click.option("--pin", "pins", multiple=True, metavar="SHA256",
              help="Another replica's certificate fingerprint, when replicas do not share"
                   " one certificate (repeatable; default: hub.toml's pinned).")
def invite(data_dir: Path, name: str, expires: str, owns: tuple[str, ...],
           addresses: tuple[str, ...], pins: tuple[str, ...]) -> None:
    """Print a one-time join token (hub address(es), certificate fingerprint(s), secret).

    \b
    Example:
      shieldwall hub invite --name web1 --expires 2h --owns 198.51.100.0/24
      # on web1: shieldwall join swj1.eyJo... --owns 198.51.100.7
      shieldwall hub invite --address 10.0.0.1:8443 --address 10.0.0.2:8443
    """
    from shieldwall.durations import parse_duration
    from shieldwall.hub.create import invite as make_invite

    lifetime = parse_duration(expires, "--expires")
    config = load_hub_config(data_dir)
    token = asyncio.run(make_invite(config, name, lifetime, time.time(), owns, addresses, pins))
    click.echo(token)


@hub.command("members")
@data_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per member.")
def members(data_dir: Path, as_json: bool) -> None:
    """List members: state, trust, last seen, stream cursor, signals sent and rejected.

    Trust is the member's weight (0-1) and whether its word decides alone
    ("trusted"), needs a trusted member's corroboration ("probation") or counts
    for nothing ("quarantined": it reported a canary; `hub release` undoes it).

    \b
    Example:
      shieldwall hub members --json
    """
    from shieldwall.hub.trust_admin import member_trust

    config = load_hub_config(data_dir)
    now = time.time()
    records, policy = with_ledger(config, lambda ledger: _members_and_policy(ledger, config, now))
    for m in records:
        state = "active" if m.active else m.revoked_why or "revoked"
        trust = member_trust(policy, m.name, now)
        if as_json:
            click.echo(msgspec.json.encode({
                "name": m.name, "state": state, "key_id": m.key_id, "owns": list(m.owns),
                "last_seen": m.last_seen, "cursor": m.cursor, "signals": m.signals,
                "rejected": m.rejected, "trust": trust,
            }).decode())
        else:
            seen = f"{now - m.last_seen:.0f}s ago" if m.last_seen else "never"
            click.echo(
                f"{m.name:20} {state:9} {trust.state:11} w{trust.weight:<5.2f} seen {seen:>12}"
                f"  cursor {m.cursor:<8} signals {m.signals:<8} rejected {m.rejected:<6}"
                f" owns {','.join(m.owns) or '-'}"
            )
            if trust.state == "quarantined":
                click.echo(f"{'':20} {trust.why}")
    if not records and not as_json:
        click.echo("no members yet; invite one with `shieldwall hub invite`")


async def _members_and_policy(
    ledger: Ledger, config: HubConfig, now: float
) -> tuple[list[MemberRecord], Policy]:
    from shieldwall.hub.policy_view import build_policy

    return await ledger.members(), await build_policy(
        ledger, config.policy(), config.protections(), now)


@hub.command("release")
@data_option
@click.argument("name")
@click.option("--why", default="released by the operator", show_default=True,
              help="The reason, kept in the journal with the release.")
def release(data_dir: Path, name: str, why: str) -> None:
    """Release a quarantined member: its signals count again (from probation).

    A member that reported one of the hub's canaries is quarantined; the
    council (or the operator) decides whether that was a mistake.

    \b
    Example:
      shieldwall hub release web1 --why "council act 12: misconfigured scanner"
    """
    from shieldwall.hub.trust_admin import release as release_member

    config = load_hub_config(data_dir)
    now = time.time()
    done = with_ledger(config, lambda ledger: release_member(
        ledger, config.policy(), config.protections(), name, why, now))
    click.echo(f"released {name}" if done else f"{name} is not quarantined; nothing to do")


@hub.command("expel")
@data_option
@click.argument("name")
def expel(data_dir: Path, name: str) -> None:
    """Revoke a member: whatever its key signs from now on is rejected.

    \b
    Example:
      shieldwall hub expel web1
    """
    from shieldwall.hub.admin import expel as revoke

    config = load_hub_config(data_dir)
    record = with_ledger(config, lambda ledger: revoke(ledger, name, time.time()))
    click.echo(f"member {record.name} expelled; its key {record.key_id} is revoked")


@hub.command("ban")
@data_option
@click.argument("address")
@click.option("--for", "duration", default="4h", show_default=True,
              help="How long: 90s, 4h, 2d... (the policy's max_duration caps it).")
def ban(data_dir: Path, address: str, duration: str) -> None:
    """Block ADDRESS (or a range) on every member, as the operator.

    The policy's protections apply as to any ban: allowlists, never-block lists,
    members' own ranges and the widest prefix it allows.

    \b
    Example:
      shieldwall hub ban 203.0.113.7 --for 2h
    """
    from shieldwall.durations import parse_duration
    from shieldwall.hub.operator_relay import operator_ban

    config = load_hub_config(data_dir)
    seconds = parse_duration(duration, "--for")
    banned = with_ledger(
        config, lambda ledger: operator_ban(ledger, config, address, seconds, time.time()))
    for d in banned:
        click.echo(f"banned {d.target} for {seconds:.0f}s (decision #{d.cursor})")


@hub.command("lift")
@data_option
@click.argument("address")
def lift(data_dir: Path, address: str) -> None:
    """Lift the blocks covering ADDRESS; the lift reaches every member like a decision.

    \b
    Example:
      shieldwall hub lift 203.0.113.7
    """
    # On PostgreSQL only the leading replica appends: it lifts on this command's request.
    from shieldwall.hub.operator_relay import operator_lift

    config = load_hub_config(data_dir)
    lifts = with_ledger(config, lambda ledger: operator_lift(ledger, config, address, time.time()))
    if not lifts:
        click.echo(f"{address} is not blocked; nothing to lift")
    for d in lifts:
        click.echo(f"lifted {d.target} (decision #{d.cursor})")


@hub.command("explain")
@data_option
@click.argument("address")
def explain(data_dir: Path, address: str) -> None:
    """Say why ADDRESS is blocked (decisions, evidence) or why not (protections, quorum).

    \b
    Example:
      shieldwall hub explain 203.0.113.7
    """
    from shieldwall.hub.admin import explain as gather

    config = load_hub_config(data_dir)
    now = time.time()
    result = with_ledger(config, lambda ledger: gather(ledger, config, address, now))
    click.echo(result.render(now))


@hub.command("migrate")
@data_option
@click.option("--to", "url", required=True, metavar="postgresql://USER@HOST/DB",
              help="The empty PostgreSQL database the replicas will share.")
def migrate(data_dir: Path, url: str) -> None:
    """Copy this hub's SQLite ledger into PostgreSQL, verify it, and point hub.toml at it.

    Stop `hub serve` first. Members, their keys and stream cursors, invites,
    signals, decisions (under their own cursors) and the journal are copied in one
    transaction that ends with a row count per table; members resume where they
    were, on any replica.

    \b
    Example:
      systemctl stop shieldwall-hub
      shieldwall hub migrate --to postgresql://shieldwall@db.example.org/shieldwall
      systemctl start shieldwall-hub@8443
    """
    from shieldwall.hub.config import CONFIG_FILE
    from shieldwall.hub.ledger.postgres.schema import database_url_problem
    from shieldwall.hub.migrate import migrate_to_postgres

    problem = database_url_problem(url)
    if problem is not None:
        raise HubError(problem)
    config = load_hub_config(data_dir)
    if config.database:
        raise HubError(f"{data_dir / CONFIG_FILE} already names a database; this hub is on"
                       " PostgreSQL already")
    report = asyncio.run(migrate_to_postgres(config.ledger_path, url))
    for copied in report:
        click.echo(f"{copied.table:10} {copied.source:>10} rows in SQLite  {copied.target:>10}"
                   " in PostgreSQL")
    with (data_dir / CONFIG_FILE).open("a", encoding="utf-8") as toml:
        toml.write("# The PostgreSQL ledger all replicas share (`shieldwall hub migrate`).\n"
                   f"database = {msgspec.json.encode(url).decode()}\n")
    click.echo(f"verified; {data_dir / CONFIG_FILE} now names the database. The SQLite file"
               " is kept as it was (remove it once the replicas serve)")


@hub.command("recover")
@data_option
def recover(data_dir: Path) -> None:
    """Accept a ledger that lost its last decisions, so the hub serves again.

    The hub refuses to start when its log ends before the head it announced
    (a disk fault, an older backup). Restoring a newer backup is better; if
    there is none, this makes new decisions start above every cursor members
    may hold, so none is reused. Members that applied the lost decisions keep
    them until they expire.

    \b
    Example:
      shieldwall hub recover --data /var/lib/shieldwall/hub
    """
    from shieldwall.hub.ledger.sqlite import SQLiteLedger

    config = load_hub_config(data_dir)

    async def run_recover(ledger: Ledger) -> int:
        if not isinstance(ledger, SQLiteLedger):
            raise HubError("`hub recover` repairs a SQLite ledger; on PostgreSQL restore the"
                           " database from a backup (the replicas refuse a log that went back)")
        return await ledger.recover()

    head = with_ledger(config, run_recover)
    click.echo(f"recovered: new decisions start after cursor {head}; `shieldwall hub serve`")
