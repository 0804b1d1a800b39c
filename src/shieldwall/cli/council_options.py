"""Shared parts of the ``shieldwall council`` commands: options, time, files, opening a proposal."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import click

from shieldwall import durations
from shieldwall.errors import ConfigError
from shieldwall.governance import store
from shieldwall.governance.acts import Effect
from shieldwall.governance.charter import ACT_KINDS
from shieldwall.governance.proposals import open_proposal
from shieldwall.governance.state import CouncilState

FOLDER = click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
KEY = click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
                   help="This councillor's key file (from `council keygen`).")
NOTE = click.option("--note", default="", help="Why: shown in status and history.")
KIND = click.Choice(ACT_KINDS)


def now_of(ctx: click.Context) -> int:
    """The time the command runs at: the hidden ``--now`` if given, else the clock."""
    # The council group puts a hidden --now in ctx.obj, which every subcommand inherits.
    value = ctx.obj.get("now") if isinstance(ctx.obj, dict) else None
    return int(value) if value is not None else int(time.time())


def when(t: int | None) -> str:
    """A Unix time as people read it (UTC)."""
    return "-" if t is None else dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def parse_date(text: str, what: str) -> int:
    """Unix seconds from ``2026-01-01`` (UTC) or from digits; ``what`` names the option."""
    try:
        return int(text) if text.isdigit() else int(
            dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp())
    except ValueError:
        raise ConfigError(f"{what}: expected a date (2026-01-01) or Unix seconds, got {text!r}") from None


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file (a policy or never-block list is named by it)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def lifetime_of(text: str) -> int:
    """Seconds in a ``--lifetime`` such as ``365d``."""
    try:
        return int(durations.duration_seconds(text))
    except ValueError as exc:
        raise ConfigError(f"--lifetime: {exc}") from None


def open_with(ctx: click.Context, folder: Path, key_file: Path,
              effect: Effect | Callable[[CouncilState], Effect], note: str) -> None:
    """Open a proposal with the key in ``key_file`` and save it in ``folder``."""
    _, state = store.load_state(folder)
    chosen = effect(state) if callable(effect) else effect
    proposal = open_proposal(state, chosen, store.load_key(key_file), now_of(ctx), note)
    store.save_proposal(folder, proposal)
    click.echo(f"opened proposal {proposal.id}; councillors sign it with:\n"
               f"  shieldwall council sign {folder} {proposal.id} --key KEYFILE")


