"""The `shieldwall hub ...`, `join` and `leave` commands, as an operator runs them.

`hub serve` runs as a real process (started and stopped by PID); the other
commands run in-process through click against the same data folders. Each test
runs on both backends: the SQLite file, and a PostgreSQL database of the run's
private cluster (the commands then read and write the database, as on a host that
holds only hub.toml beside the replicas).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.signals.member_state import pinned_context
from tests.integration.hub_harness import free_port
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture

cluster = pg_cluster_fixture()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def served_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "hub"
    database: list[str] = []
    if request.param == "postgresql":
        pg: PgCluster = request.getfixturevalue("cluster")
        database = ["--database", pg.new_database()]
    run("hub", "init", "--data", str(data), "--listen", f"127.0.0.1:{free_port()}", *database)
    proc = subprocess.Popen(
        [sys.executable, "-m", "shieldwall.cli.main", "hub", "serve", "--data", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        listen = next(
            line.split('"')[1] for line in (data / "hub.toml").read_text().splitlines()
            if line.startswith("listen")
        )
        for _ in range(600):
            assert proc.poll() is None, "hub serve exited"
            try:
                httpx.get(f"https://{listen}/healthz",
                          verify=pinned_context((data / "tls.crt").read_text()))
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise AssertionError("hub serve did not answer /healthz in 30 s")
        yield data
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_operator_invites_a_member_who_joins_and_later_leaves(
    served_hub: Path, tmp_path: Path
) -> None:
    token = run("hub", "invite", "--data", str(served_hub), "--name", "web1").strip()
    assert token.startswith("swj1.")
    joined = run("join", token, "--data", str(tmp_path / "m"), "--owns", "45.13.9.0/24")
    assert "as web1" in joined
    members = [json.loads(line) for line in
               run("hub", "members", "--data", str(served_hub), "--json").splitlines()]
    assert members[0]["name"] == "web1" and members[0]["owns"] == ["45.13.9.0/24"]
    assert "protected: owned by member 'web1'" in run(
        "hub", "explain", "--data", str(served_hub), "45.13.9.7"
    )
    run("leave", "--data", str(tmp_path / "m"))
    members = [json.loads(line) for line in
               run("hub", "members", "--data", str(served_hub), "--json").splitlines()]
    assert members[0]["state"] == "left"


def test_operator_expels_a_member(served_hub: Path, tmp_path: Path) -> None:
    token = run("hub", "invite", "--data", str(served_hub), "--name", "web2").strip()
    run("join", token, "--data", str(tmp_path / "m"))
    assert "expelled" in run("hub", "expel", "--data", str(served_hub), "web2")
    assert "expelled" in run("hub", "members", "--data", str(served_hub))


def test_lift_of_an_unblocked_address_says_so(served_hub: Path) -> None:
    assert "not blocked" in run("hub", "lift", "--data", str(served_hub), "45.13.7.9")


def test_operator_bans_then_lifts_and_a_protected_ban_is_refused(served_hub: Path) -> None:
    assert "banned 45.13.7.9 for 7200s" in run(
        "hub", "ban", "--data", str(served_hub), "45.13.7.9", "--for", "2h")
    assert "45.13.7.9 is BLOCKED" in run("hub", "explain", "--data", str(served_hub), "45.13.7.9")
    assert "lifted 45.13.7.9" in run("hub", "lift", "--data", str(served_hub), "45.13.7.9")
    refused = CliRunner().invoke(cli, ["hub", "ban", "--data", str(served_hub), "10.0.0.1"])
    assert refused.exit_code != 0 and "is not blocked" in refused.output


def test_init_refuses_to_overwrite_a_hub(served_hub: Path) -> None:
    result = CliRunner().invoke(cli, ["hub", "init", "--data", str(served_hub)])
    assert result.exit_code == 2 and "already holds a hub" in result.output


@pytest.mark.parametrize(
    "args", [["hub", "--help"], ["hub", "init", "--help"], ["hub", "serve", "--help"],
             ["hub", "invite", "--help"], ["hub", "members", "--help"],
             ["hub", "expel", "--help"], ["hub", "lift", "--help"], ["hub", "explain", "--help"],
             ["join", "--help"], ["leave", "--help"]],
)
def test_every_command_help_shows_an_example(args: list[str]) -> None:
    assert "Example:" in run(*args)
