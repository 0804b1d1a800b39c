"""``shieldwall council propose``: one subcommand per kind of governed act.

Each builds the act's effect from its options (hashing a file, parsing a card) and
opens it as a proposal with the councillor's key; the pure core decides the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import msgspec

from shieldwall.cli.council_options import (
    FOLDER,
    KEY,
    NOTE,
    lifetime_of,
    now_of,
    open_with,
    parse_date,
    sha256_of,
)
from shieldwall.errors import ConfigError, GovernanceError
from shieldwall.governance.acts import (
    Admit,
    AppointChair,
    CharterChange,
    Effect,
    Expel,
    NeverBlockChange,
    PolicyChange,
    WideRange,
)
from shieldwall.governance.amend import amend, parse_card, parse_hub_key
from shieldwall.governance.charter import Thresholds
from shieldwall.governance.state import CouncilState


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def propose() -> None:
    """Open a proposal (the chair does; anyone for appoint-chair).

    \b
    Example:
      shieldwall council propose policy ./council --key alice.key --file policy.toml
    """


def _proposal(name: str, doc: str, *options: Any) -> Callable[[Callable[..., Effect]], click.Command]:
    def register(build: Callable[..., Effect]) -> click.Command:
        @click.pass_context
        def command(ctx: click.Context, /, folder: Path, key_file: Path, note: str, **values: Any) -> None:
            open_with(ctx, folder, key_file, lambda state: build(state, now_of(ctx), **values), note)

        command.__doc__ = doc
        for option in reversed(options):
            command = option(command)
        return propose.command(name)(NOTE(KEY(FOLDER(command))))
    return register


@_proposal("policy", """Propose a new hub policy (the file's SHA-256 becomes the policy).

    \b
    Example:
      shieldwall council propose policy ./council --key alice.key --file policy.toml
    """, click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path)))
def _policy(state: CouncilState, now: int, path: Path) -> Effect:
    return PolicyChange(sha256_of(path))


@_proposal("never-block", """Propose a new never-block list (by the file's SHA-256).

    \b
    Example:
      shieldwall council propose never-block ./council --key alice.key --file never-block.txt
    """, click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path)))
def _never_block(state: CouncilState, now: int, path: Path) -> Effect:
    return NeverBlockChange(sha256_of(path))


@_proposal("admit", """Propose admitting a member organisation with its member key
    (from `shieldwall join --keygen`) and the ranges it owns (never blocked by others).

    \b
    Example:
      shieldwall council propose admit ./council --key alice.key --member acme --public-key HEX \\
        --owns 198.51.100.0/24
    """, click.option("--member", required=True), click.option("--public-key", required=True),
    click.option("--owns", multiple=True, metavar="CIDR", help="A range the member owns (repeat)."))
def _admit(state: CouncilState, now: int, member: str, public_key: str, owns: tuple[str, ...]) -> Effect:
    return _convert(Admit, member=member, public_key=public_key.lower(), owns=owns)


@_proposal("expel", """Propose expelling a member (a grave act by default).

    \b
    Example:
      shieldwall council propose expel ./council --key alice.key --member acme --note "leaked key"
    """, click.option("--member", required=True))
def _expel(state: CouncilState, now: int, member: str) -> Effect:
    return _convert(Expel, member=member)


@_proposal("wide-range", """Propose blocking a range wider than the policy's cap.

    \b
    Example:
      shieldwall council propose wide-range ./council --key alice.key --range 198.51.100.0/22
    """, click.option("--range", "cidr", required=True),
    click.option("--until", default="0", help="Date or Unix seconds; 0: until lifted."))
def _wide_range(state: CouncilState, now: int, cidr: str, until: str) -> Effect:
    return WideRange(cidr, 0 if until == "0" else parse_date(until, "--until"))


@_proposal("appoint-chair", """Propose appointing the chair now (the chair's key is lost or it is absent).

    \b
    Example:
      shieldwall council propose appoint-chair ./council --key bob.key --chair carol
    """, click.option("--chair", required=True))
def _appoint(state: CouncilState, now: int, chair: str) -> Effect:
    return _convert(AppointChair, chair=chair)


@_proposal("charter", """Propose the charter's next version (needs k of the old council and k of the new).

    \b
    Example:
      shieldwall council propose charter ./council --key alice.key --remove carol \\
        --add "$(cat dave.card)"
    """, click.option("--add", "add", multiple=True, help="A new councillor's card (repeat)."),
    click.option("--remove", multiple=True, help="A councillor's name (repeat)."),
    click.option("--ordinary", type=int), click.option("--grave", type=int),
    click.option("--hub-key", "hub_keys", multiple=True, help="Replace the hub keys: name:hex (repeat)."),
    click.option("--lifetime", default="365d", help="How long the new version is valid."))
def _charter(state: CouncilState, now: int, add: tuple[str, ...], remove: tuple[str, ...],
             ordinary: int | None, grave: int | None, hub_keys: tuple[str, ...], lifetime: str) -> Effect:
    if state.trusted is None:
        raise GovernanceError("no-council", "found the council first (`shieldwall council init`)")
    old = state.trusted.charter
    thresholds = Thresholds(ordinary or old.thresholds.ordinary, grave or old.thresholds.grave)
    return CharterChange(amend(
        old, max(now, state.last_at), add=[parse_card(c, old.alliance) for c in add],
        remove=remove, thresholds=thresholds, hub_keys=[parse_hub_key(k) for k in hub_keys] or None,
        lifetime=lifetime_of(lifetime)))


def _convert(kind: type[Any], **values: Any) -> Effect:
    try:
        effect: Effect = msgspec.convert(values, kind)
        return effect
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{exc}") from None


