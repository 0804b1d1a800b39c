"""Which ledger a hub uses: the one place that maps the configuration to a backend.

``database`` unset: the SQLite file in the data folder (one hub process). Set to a
``postgresql://`` URL: the shared PostgreSQL ledger of several replicas (served by
:mod:`shieldwall.hub.replication`; operator commands open it like any ledger).
"""

from __future__ import annotations

from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.storage import Ledger


def replicated(config: HubConfig) -> bool:
    """Whether this hub runs as replicas on PostgreSQL."""
    return bool(config.database)


def ledger_for(config: HubConfig) -> Ledger:
    """The (unopened) ledger ``config`` names."""
    if replicated(config):
        from shieldwall.hub.ledger.postgres.ledger import PostgresLedger

        return PostgresLedger(config.database)
    from shieldwall.hub.ledger.sqlite import SQLiteLedger

    return SQLiteLedger(config.ledger_path)
