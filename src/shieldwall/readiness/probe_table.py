"""Probe of the enforcer: the block store's active blocks and the kernel table read back.

The table is read through :meth:`NftablesEnforcer.state` (libnftables, else ``nft``),
the same reader ``shieldwall enforce status`` and the agent's repairs use.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from shieldwall.addresses import Ranges
from shieldwall.enforcers.nftables import NftablesEnforcer, open_runner
from shieldwall.errors import ShieldwallError
from shieldwall.readiness.probe_state import read_store
from shieldwall.readiness.table import EnforcementView


def read_enforcement(
    data_dir: Path,
    now: float,
    *,
    backend: str = "nftables",
    dry_run: bool = False,
    enforcer: NftablesEnforcer | None = None,
    protected: Ranges | None = None,
) -> EnforcementView:
    """The store's blocks and, for the nftables backend, the table as read now.

    ``protected`` is the member's enforce allowlist with its own addresses, as the
    agent builds it: stored blocks it covers are not expected in the table.
    """
    if dry_run or backend != "nftables":
        return EnforcementView(backend=backend, dry_run=dry_run)
    try:
        desired = read_store(data_dir, now)
    except (ShieldwallError, sqlite3.Error) as exc:
        return EnforcementView(error=f"cannot read the block store: {exc}")
    try:
        reader = enforcer if enforcer is not None else NftablesEnforcer(open_runner("auto"))
        table = reader.state(now)
    except ShieldwallError as exc:
        return EnforcementView(desired=desired, error=str(exc), protected=protected)
    return EnforcementView(desired=desired, table=table, protected=protected)
