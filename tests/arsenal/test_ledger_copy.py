"""The arsenal's files travel through the ledger: every replica serves the same set.

The unit tests run on a real SQLite ledger; the replica test runs two hub replicas on one
real PostgreSQL, each with its own folder: a rule published through one is fetched and
verified (tuf.ngclient, the pinned root) by a member from the other.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from shieldwall.arsenal.ledger_copy import KIND, pull, push
from shieldwall.arsenal.member import ROOT, trust_of
from shieldwall.arsenal.repository import Repository
from shieldwall.arsenal.updater import PinnedFetcher, Source, update
from shieldwall.cli.main import cli
from shieldwall.governance.store import save_key
from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.hub.ledger.storage import JournalEntry
from shieldwall.signals.client import join
from tests.arsenal.alliance import Council, shipped_rule
from tests.conftest import shared_data
from tests.integration.hub_harness import free_port, init_hub, ledger_of, running_hub
from tests.integration.hub_processes import without_trust
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

cluster = pg_cluster_fixture()
RULE = "ssh-quick-guess@1"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for part in ("metadata", "targets")
            for p in sorted((folder / part).rglob("*")) if p.is_file()}


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


@pytest.fixture
def pg_hub(cluster: PgCluster, tmp_path: Path) -> HubConfig:
    return without_trust(init_hub(tmp_path / "hub-a", "--database", cluster.new_database()))


async def test_a_pull_makes_another_folder_byte_identical_and_ignores_paths_outside_it(
    sqlite_hub: HubConfig, tmp_path: Path,
) -> None:
    config = sqlite_hub
    council = Council.new()
    repo = council.found(tmp_path / "a")
    async with ledger_of(config) as ledger:
        assert await push(ledger, repo, time.time()) == len(_files(repo.folder))
        assert repo.written == []
        # A bad row (a restored or edited ledger) never writes outside the folder.
        await ledger.journal_append([JournalEntry(KIND, "../escaped", 0.0, b"x"),
                                     JournalEntry(KIND, "metadata/../../escaped", 0.0, b"x")])
        assert await pull(ledger, tmp_path / "b") == len(_files(repo.folder))
        assert await pull(ledger, tmp_path / "b") == 0  # the cursor remembers
    assert _files(tmp_path / "b") == _files(repo.folder)
    assert not (tmp_path / "escaped").exists()


async def test_the_first_push_into_an_empty_ledger_copies_an_arsenal_founded_before(
    sqlite_hub: HubConfig, tmp_path: Path,
) -> None:
    council = Council.new()
    Repository.create(tmp_path / "a", council.public, 2, council.seeds[:2], council.hub, time.time())
    repo = Repository(tmp_path / "a")  # a later process: it wrote nothing of what is there
    repo.refresh_timestamp(council.hub, time.time())
    async with ledger_of(sqlite_hub) as ledger:
        assert await push(ledger, repo, time.time()) == len(_files(repo.folder))
        await pull(ledger, tmp_path / "b")
    assert _files(tmp_path / "b") == _files(repo.folder)


async def _cli(*args: str) -> Result:
    # A replica runs in this event loop: a command that opens the ledger runs in a thread.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


@pytest.mark.root
async def test_a_rule_published_through_one_replica_is_fetched_and_verified_from_the_other(
    pg_hub: HubConfig, tmp_path: Path,
) -> None:
    a = pg_hub
    # Replica B: the same identity, certificate and database, its own folder, no arsenal in it.
    shutil.copytree(a.data_dir, tmp_path / "hub-b")
    b: HubConfig = dataclasses.replace(a, data_dir=tmp_path / "hub-b", listen=f"127.0.0.1:{free_port()}")
    council = Council.new()
    keys = []
    for index, seed in enumerate(council.seeds):
        save_key(tmp_path / f"c{index}.key", seed)
        keys += ["--key", str(tmp_path / f"c{index}.key")]
    rule = tmp_path / "rule.toml"
    rule.write_bytes(shipped_rule().raw)
    through_a = ["--hub-dir", str(a.data_dir)]
    async with running_hub(a), running_hub(b):
        founded = await _cli("arsenal", "init", *through_a, *keys[:4], "--threshold", "2",
                             *(x for p in council.public for x in ("--councillor", p.hex())))
        assert founded.exit_code == 0, founded.output
        proposed = await _cli("arsenal", "propose", str(rule), *through_a, *keys[:4],
                              "--data", str(shared_data()))
        assert proposed.exit_code == 0, proposed.output
        assert not (b.data_dir / "arsenal").exists()
        # An invitation made on B pins the arsenal A founded.
        state = await join(await invite(b, "alice", 3600.0, time.time()), tmp_path / "alice")
        trust = trust_of(state.data_dir / "arsenal")
        pin = hashlib.sha256(Repository(a.data_dir / "arsenal").root_bytes(1)).hexdigest()
        assert trust is not None and trust.root_sha256 == pin
        fetcher = PinnedFetcher(state.ssl_context())
        source = Source(folder=state.data_dir / "arsenal", url=f"https://{b.listen}/v1/arsenal",
                        bootstrap=(state.data_dir / "arsenal" / ROOT).read_bytes(), fetcher=fetcher)
        try:
            got, changed = await asyncio.to_thread(update, source)
            assert changed and [(r.rule.id, r.status) for r in got.rules] == [(RULE, "experimental")]
            # A change published through A while both run reaches the member through B.
            retired = await _cli("arsenal", "promote", RULE, "--to", "deprecated", *through_a, *keys[2:6])
            assert retired.exit_code == 0, retired.output
            got, changed = await asyncio.to_thread(update, source)
        finally:
            fetcher.close()
    assert changed and got.status_of(RULE) == "deprecated"
    assert _files(b.data_dir / "arsenal") == _files(a.data_dir / "arsenal")
