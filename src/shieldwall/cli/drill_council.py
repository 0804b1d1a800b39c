"""``shieldwall drill sign|standing|schedule``: drills ordered by the council's chair.

Under a council only its chair orders drills. The chair signs on its own machine, as
councillors sign acts (`shieldwall council sign`): ``drill sign`` writes a signed order
file the operator runs with ``drill run --order FILE`` (within its TTL), and ``drill
standing`` a standing order for scheduled drills, installed on the hub with ``drill
schedule FILE``. ``drill schedule`` alone says whether scheduled drills are on, and why
not. Every check is :mod:`shieldwall.drills.authority`'s, the one the hub and members run.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from shieldwall.cli.drill import new_order_body, parse_limits
from shieldwall.cli.hub import data_option
from shieldwall.errors import ConfigError, GovernanceError

if TYPE_CHECKING:
    from shieldwall.drills.order import DrillOrder, StandingOrder
    from shieldwall.governance.standing import Standing
    from shieldwall.hub.config import HubConfig

KEY = click.option("--key", "key_file", required=True,
                   type=click.Path(exists=True, dir_okay=False, path_type=Path),
                   help="The chair's councillor key file.")
OUT = click.option("--out", "out_file", required=True,
                   type=click.Path(dir_okay=False, path_type=Path), help="Where to write it.")


def signing_seed(config: HubConfig, key_file: Path | None) -> tuple[bytes, str]:
    """The seed ``drill run`` signs with and the issuer it names (operator or chair)."""
    from shieldwall.governance import store
    from shieldwall.hub.identity import IDENTITY_FILE

    if key_file is None:
        return (config.data_dir / IDENTITY_FILE).read_bytes(), "operator"
    return store.load_key(key_file), "chair"


def load_order(path: Path) -> DrillOrder:
    """A signed order file from ``drill sign``; raises :class:`ConfigError`."""
    from shieldwall.drills.order import decode_order

    try:
        return decode_order(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ConfigError(f"{path} is not a signed drill order: {exc}") from None


def council_of(config: HubConfig, now: float) -> Standing | None:
    """The council's verified standing (``None``: the hub has no council)."""
    from shieldwall.hub.governance_council import council_standing

    if config.council_dir is None:
        return None
    try:
        return council_standing(config, now)[1]
    except GovernanceError as exc:
        raise ConfigError(f"the council's act log is refused: {exc}") from None


def check_signer(config: HubConfig, order: DrillOrder, now: float) -> None:
    """Refuse (:class:`ConfigError`) an order the hub and members would refuse."""
    from shieldwall.drills.authority import signer_key
    from shieldwall.drills.order import Refusal, refusal
    from shieldwall.hub.identity import IDENTITY_FILE
    from shieldwall.signals.keys import key_id_of, public_key_of

    hub = public_key_of((config.data_dir / IDENTITY_FILE).read_bytes())
    council = council_of(config, now)
    public = signer_key(order, council, {key_id_of(hub): hub.hex()}, now)
    why = public if isinstance(public, Refusal) else refusal(
        order, {order.signature.key_id: public}, now)
    if why is not None:
        hint = (" (sign with the chair's key: `--key CHAIR.key`, or `shieldwall drill sign`"
                " on the chair's machine, then `--order FILE`)" if council is not None else "")
        raise ConfigError(f"this drill order would be refused: {why.detail}{hint}")


def _members(chosen: str, data_dir: Path | None) -> tuple[str, ...]:
    if chosen != "all":
        return tuple(n.strip() for n in chosen.split(",") if n.strip())
    if data_dir is None:
        raise ConfigError("--members all needs the hub's --data; offline, name the members")
    from shieldwall.hub.config import load_hub_config
    from shieldwall.hub.create import with_ledger
    from shieldwall.hub.ledger.storage import Ledger

    async def active(ledger: Ledger) -> tuple[str, ...]:
        return tuple(m.name for m in await ledger.members() if m.active)

    return asyncio.run(with_ledger(load_hub_config(data_dir), active))


@click.command("sign")
@KEY
@OUT
@click.option("--members", "chosen", required=True, help="Member names separated by commas"
              " (all: every active member, with --data).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="The hub's state folder, for --members all.")
@click.option("--stages", default="detect,signal,decide,push,enforce", show_default=True)
@click.option("--target", default=None, help="The drill address (default: one in 198.51.100.0/24).")
@click.option("--ttl", default=120, show_default=True,
              help="Seconds the order lives (<= 300): run it on the hub within that.")
@click.option("--limit", "limits", multiple=True, metavar="STAGE=SECONDS")
def sign(key_file: Path, out_file: Path, chosen: str, data_dir: Path | None, stages: str,
         target: str | None, ttl: int, limits: tuple[str, ...]) -> None:
    """Sign a drill order with the chair's key, offline; the hub runs it with `drill run --order`.

    \b
    Example:
      shieldwall drill sign --key alice.key --members web1,web2 --out drill.json
      shieldwall drill run --data /var/lib/shieldwall/hub --order drill.json
    """
    from shieldwall.drills.order import sign_order
    from shieldwall.governance import store

    now = time.time()
    address = target or f"198.51.100.{secrets.randbelow(254) + 1}"
    body = new_order_body(_members(chosen, data_dir), tuple(s.strip() for s in stages.split(",")),
                          address, ttl, now)
    body = msgspec.structs.replace(body, limits=parse_limits(limits), issuer="chair")
    out_file.write_bytes(msgspec.json.encode(sign_order(store.load_key(key_file), body)))
    click.echo(f"drill {body.id} on {body.target} signed for {len(body.members)} members;"
               f" run it within {ttl} s: shieldwall drill run --order {out_file}")


@click.command("standing")
@KEY
@OUT
@click.option("--every", required=True, help="How often a scheduled drill runs (e.g. 6h).")
@click.option("--lifetime", default="30d", show_default=True,
              help="How long the standing order holds (it also ends when its signer stops chairing).")
@click.option("--members", "chosen", default="", help="Member names (default: every active member).")
@click.option("--stages", default="detect,signal,decide,push,enforce", show_default=True)
@click.option("--ttl", default=120, show_default=True, help="Each scheduled drill's TTL (<= 300 s).")
def standing(key_file: Path, out_file: Path, every: str, lifetime: str, chosen: str,
             stages: str, ttl: int) -> None:
    """Sign a standing order for scheduled drills with the chair's key, offline.

    \b
    Example:
      shieldwall drill standing --key alice.key --every 6h --out standing.json
      shieldwall drill schedule --data /var/lib/shieldwall/hub standing.json
    """
    from shieldwall import durations
    from shieldwall.drills.order import MAX_TTL, StandingBody, sign_standing, valid_stages
    from shieldwall.governance import store

    try:
        period, lasts = int(durations.duration_seconds(every)), int(durations.duration_seconds(lifetime))
    except ValueError as exc:
        raise ConfigError(f"--every/--lifetime: {exc}") from None
    picked = tuple(s.strip() for s in stages.split(","))
    if not valid_stages(picked) or not 0 < ttl <= MAX_TTL or not 60 <= period <= 366 * 86400:
        raise ConfigError("--stages must be a prefix of detect,signal,decide,push,enforce (push"
                          f" with enforce), --ttl 1..{MAX_TTL} s and --every 1m..366d")
    now = int(time.time())
    members = tuple(n.strip() for n in chosen.split(",") if n.strip())
    body = StandingBody(id=f"standing-{secrets.token_hex(6)}", issued=now, expires=now + lasts,
                        every=period, members=members, stages=picked, ttl=ttl)  # type: ignore[arg-type]
    out_file.write_bytes(msgspec.json.encode(sign_standing(store.load_key(key_file), body)))
    click.echo(f"standing order {body.id}: a drill every {period} s until {lasts} s from now"
               f" (or the end of your term); install it: shieldwall drill schedule {out_file}")


@click.command("schedule")
@data_option
@click.argument("standing_file", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def schedule(data_dir: Path, standing_file: Path | None) -> None:
    """Install the chair's standing order (FILE), or say whether scheduled drills are on.

    \b
    Example:
      shieldwall drill schedule --data /var/lib/shieldwall/hub standing.json
    """
    from shieldwall.drills.authority import standing_refusal
    from shieldwall.drills.hub_schedule import STANDING, latest_standing, schedule_off
    from shieldwall.hub.config import load_hub_config
    from shieldwall.hub.create import with_ledger
    from shieldwall.hub.ledger.storage import JournalEntry, Ledger

    config = load_hub_config(data_dir)
    now = time.time()
    council = council_of(config, now)
    given: StandingOrder | None = None
    if standing_file is not None:
        from shieldwall.drills.order import StandingOrder

        try:
            given = msgspec.json.decode(standing_file.read_bytes(), type=StandingOrder)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise ConfigError(f"{standing_file} is not a standing order: {exc}") from None
        if council is None:
            raise ConfigError("this hub has no council: set drill_every in hub.toml instead")
        why = standing_refusal(given, council, now)
        if why is not None:
            raise ConfigError(f"this standing order would be refused: {why.detail}")

    async def work(ledger: Ledger) -> StandingOrder | None:
        if given is not None:
            await ledger.journal_append([JournalEntry(STANDING, given.body.id, now,
                                                      msgspec.json.encode(given))])
        return await latest_standing(ledger)

    installed = asyncio.run(with_ledger(config, work))
    every, off = schedule_off(config.drill_every, council, council is not None, installed, now)
    if off is not None:
        click.echo(f"scheduled drills are off: {off}")
    else:
        click.echo(f"scheduled drills are on: one every {every:.0f} s")
