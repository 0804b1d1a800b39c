"""Creating a hub and inviting members: the one library the CLI, ``up`` and the lab call.

``shieldwall hub init`` and ``hub invite``, ``shieldwall up`` and the demo lab all
set an alliance up the same way through these functions, so none of them runs
another's command line or reads a token back from its output.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

from shieldwall.errors import ConfigError, HubError
from shieldwall.hub.backend import ledger_for
from shieldwall.hub.config import (
    CONFIG_FILE,
    DEFAULT_LISTEN,
    HubConfig,
    load_hub_config,
    render_hub_config,
    split_host_port,
)
from shieldwall.hub.ledger.storage import Ledger

T = TypeVar("T")
POLICY_FILE = "policy.toml"
_ALLOW_RESERVED = re.compile(r"^(allow_reserved\s*=\s*)false\b", re.MULTILINE)


@dataclass(frozen=True)
class CreatedHub:
    """A new hub: its configuration and its certificate's SHA-256 fingerprint."""

    config: HubConfig
    fingerprint: str


def default_policy_text(allow_reserved: bool = False) -> str:
    """The shipped policy, with ``allow_reserved`` switched on when asked (labs, private nets)."""
    text = resources.files("shieldwall.hub").joinpath("default_policy.toml").read_text("utf-8")
    if not allow_reserved:
        return text
    switched, count = _ALLOW_RESERVED.subn(r"\g<1>true", text)
    if count != 1:
        raise ConfigError("the shipped policy has no `allow_reserved = false` line to switch on")
    return switched


def public_address_for(listen: str, address: str | None) -> str:
    """What join tokens tell members: ``address``, else ``listen`` (loopback when on all)."""
    if address is not None:
        split_host_port(address)
        return address
    host, port = split_host_port(listen)
    return f"127.0.0.1:{port}" if host in ("0.0.0.0", "::") else listen


def init_hub(
    data_dir: Path,
    *,
    listen: str = DEFAULT_LISTEN,
    address: str | None = None,
    never_block: Sequence[Path] = (),
    allow: Sequence[str] = (),
    allow_reserved: bool = False,
    now: datetime.datetime | None = None,
    database: str = "",
) -> CreatedHub:
    """Create a hub in ``data_dir``: identity, TLS certificate, hub.toml, policy, ledger.

    Call it outside an event loop (it opens the new ledger with ``asyncio.run``).
    Refuses a folder that already holds a hub. A bad never-block list fails here,
    not when the hub is first served.
    """
    from shieldwall.hub.identity import create_identity

    public = public_address_for(listen, address)
    public_host, _ = split_host_port(public)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (data_dir / CONFIG_FILE).exists():
        raise HubError(f"{data_dir} already holds a hub; refusing to overwrite it")
    policy = default_policy_text(allow_reserved)
    fp = create_identity(data_dir, [public_host], now or datetime.datetime.now(datetime.UTC))
    (data_dir / POLICY_FILE).write_text(policy, encoding="utf-8")
    (data_dir / CONFIG_FILE).write_text(
        render_hub_config(listen, public, [str(p.resolve()) for p in never_block], list(allow),
                          database),
        encoding="utf-8",
    )
    config = load_hub_config(data_dir)
    config.protections()
    config.policy()

    async def create(ledger: Ledger) -> None:
        return None

    asyncio.run(with_ledger(config, create, create=True))
    return CreatedHub(config=config, fingerprint=fp)


async def with_ledger(
    config: HubConfig, work: Callable[[Ledger], Awaitable[T]], create: bool = False
) -> T:
    """Run ``work`` against the hub's ledger, then close it (``create``: only ``hub init``)."""
    ledger = ledger_for(config)
    await ledger.open(create=create)
    try:
        return await work(ledger)
    finally:
        await ledger.close()


async def invite(
    config: HubConfig, name: str, lifetime: float, now: float, owns: Sequence[str] = (),
    addresses: Sequence[str] = (), pins: Sequence[str] = (),
) -> str:
    """A one-time join token for a new member (``name`` may be empty: it chooses).

    ``owns``: the ranges the member holds; its claims at join must lie inside them.
    ``addresses``/``pins``: the replicas and their other certificates, when the
    token should name others than hub.toml's ``public_addresses``/``pinned``.
    """
    from shieldwall.hub.admin import create_invite
    from shieldwall.hub.members import check_member_name

    if name:
        check_member_name(name)
    return await with_ledger(
        config, lambda ledger: create_invite(
            ledger, config, name, lifetime, now, tuple(owns), tuple(addresses), tuple(pins)
        )
    )
