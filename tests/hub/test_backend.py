"""One place maps a hub's configuration to its ledger backend."""

from __future__ import annotations

from pathlib import Path

from shieldwall.hub.backend import ledger_for, replicated
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.sqlite import SQLiteLedger


def test_without_a_database_the_hub_keeps_its_sqlite_file(tmp_path: Path) -> None:
    config = HubConfig(data_dir=tmp_path)
    assert not replicated(config) and isinstance(ledger_for(config), SQLiteLedger)


def test_a_database_url_makes_the_hub_a_replica_on_postgresql(tmp_path: Path) -> None:
    config = HubConfig(data_dir=tmp_path, database="postgresql://hub@db.example.org/hub")
    ledger = ledger_for(config)
    assert replicated(config) and isinstance(ledger, PostgresLedger)
    assert ledger.url == "postgresql://hub@db.example.org/hub"
