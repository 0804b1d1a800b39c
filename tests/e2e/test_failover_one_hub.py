"""The member side of failover against real hubs over HTTPS on loopback (SQLite ledger).

No PostgreSQL here (tests/e2e/test_failover.py kills real replicas): a "replica" is
the same hub served at another address, or a copy of its data folder with its own
certificate. What is checked is the member: its token and state list several
addresses, its sender and follower move to the next one when one fails, resume by
cursor (no gap, no repeat), and pin a replica's certificate the first time it meets
it when that replica was down at join.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.decisions.decision import Decision
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import HubUnreachable
from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.hub.create import invite
from shieldwall.hub.identity import CERT_FILE, KEY_FILE, fingerprint, make_certificate
from shieldwall.hub.members import decode_token
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.member_state import load_member_state
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import free_port, init_hub, running_hub


def brute(target: str) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6,
                  evidence=(f"Failed password for root from {target} port 22 ssh2",))


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


def dead_address() -> str:
    """A loopback port nothing listens on: connections are refused at once."""
    return f"127.0.0.1:{free_port()}"


async def take(follower: DecisionFollower, count: int, timeout: float = 30.0
               ) -> list[Decision]:
    got: list[Decision] = []

    async def run() -> None:
        async for decision in follower:
            got.append(decision)
            if len(got) >= count:
                return

    await asyncio.wait_for(run(), timeout)
    return got


async def test_a_dead_first_address_is_skipped_at_join_send_and_follow(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    dead = dead_address()
    addresses = [dead, hub_config.listen]
    async with running_hub(hub_config):
        token = await invite(hub_config, "alice", 3600, time.time(), addresses=addresses)
        alice = await join(token, tmp_path / "alice")
        assert load_member_state(tmp_path / "alice").addresses == tuple(addresses)
        async with HubClient(alice) as client, DecisionFollower(alice) as follower:
            ack = await client.send([brute("45.13.1.1")])
            got = await take(follower, 1)
            assert (client.hub, follower.hub) == (hub_config.listen, hub_config.listen)
    assert ack.status == "applied" and [d.cursor for d in got] == [1]


async def test_a_hub_gone_from_one_address_is_followed_at_the_next_from_the_cursor(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    other = dataclasses.replace(hub_config, listen=f"127.0.0.1:{free_port()}")
    addresses = [hub_config.listen, other.listen]
    got: list[Decision] = []
    async with running_hub(hub_config):
        token = await invite(hub_config, "alice", 3600, time.time(), addresses=addresses)
        alice = await join(token, tmp_path / "alice")
        follower = DecisionFollower(alice, backoff=(0.05, 0.5))
        client = HubClient(alice)
        for i in range(3):
            await client.send([brute(f"45.13.2.{i + 1}")])
        got += await take(follower, 3)
    # The first address is gone for good; the same ledger is served at the second.
    async with running_hub(other):
        for i in range(3, 6):
            await client.send([brute(f"45.13.2.{i + 1}")])
        got += await take(follower, 3)
        assert (client.hub, follower.hub) == (other.listen, other.listen)
    await client.aclose()
    await follower.aclose()
    assert [d.cursor for d in got] == [1, 2, 3, 4, 5, 6]
    assert [d.target for d in got] == [f"45.13.2.{i}" for i in range(1, 7)]


async def test_a_replica_down_at_join_has_its_certificate_pinned_when_first_met(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    # Replica B: a copy of the hub's folder with a certificate of its own, pinned in the
    # token by its fingerprint only (it is down when alice joins).
    cert_b, key_b = make_certificate(["127.0.0.1"], datetime.datetime.now(datetime.UTC))
    b_dir = tmp_path / "hub-b"
    listen_b = f"127.0.0.1:{free_port()}"
    async with running_hub(hub_config):
        token = await invite(hub_config, "alice", 3600, time.time(),
                             addresses=[hub_config.listen, listen_b], pins=[fingerprint(cert_b)])
        alice = await join(token, tmp_path / "alice")
    assert alice.missing_pins() == (fingerprint(cert_b),)
    shutil.copytree(hub_config.data_dir, b_dir)
    (b_dir / CERT_FILE).write_bytes(cert_b)
    (b_dir / KEY_FILE).write_bytes(key_b)
    replica_b = dataclasses.replace(hub_config, data_dir=b_dir, listen=listen_b)
    async with running_hub(replica_b), HubClient(alice) as client:
        ack = await client.send([brute("45.13.3.1")])
        assert client.hub == listen_b
    assert ack.status == "applied"
    learnt = load_member_state(tmp_path / "alice")
    assert learnt.missing_pins() == () and learnt.fingerprints == alice.fingerprints


async def test_replicas_with_certificates_of_their_own_are_all_pinned_at_join(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    cert_b, key_b = make_certificate(["127.0.0.1"], datetime.datetime.now(datetime.UTC))
    b_dir = tmp_path / "hub-b"
    shutil.copytree(hub_config.data_dir, b_dir)
    (b_dir / CERT_FILE).write_bytes(cert_b)
    (b_dir / KEY_FILE).write_bytes(key_b)
    replica_b = dataclasses.replace(hub_config, data_dir=b_dir, listen=f"127.0.0.1:{free_port()}")
    async with running_hub(hub_config), running_hub(replica_b):
        token = await invite(hub_config, "alice", 3600, time.time(),
                             addresses=[hub_config.listen, replica_b.listen],
                             pins=[fingerprint(cert_b)])
        alice = await join(token, tmp_path / "alice")
    assert alice.missing_pins() == () and len(alice.fingerprints) == 2
    # B's ledger learns of alice the way a replica would (here: a fresh copy of A's folder).
    shutil.rmtree(b_dir)
    shutil.copytree(hub_config.data_dir, b_dir)
    (b_dir / CERT_FILE).write_bytes(cert_b)
    (b_dir / KEY_FILE).write_bytes(key_b)
    # Both certificates share the subject "shieldwall hub": B is still trusted on its own.
    async with running_hub(replica_b), HubClient(alice) as client:
        ack = await client.send([brute("45.13.5.1")])
        assert client.hub == replica_b.listen
    assert ack.status == "applied"


async def test_a_replica_presenting_an_unpinned_certificate_is_never_trusted(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    stranger_dir = tmp_path / "stranger"
    shutil.copytree(hub_config.data_dir, stranger_dir)
    cert, key = make_certificate(["127.0.0.1"], datetime.datetime.now(datetime.UTC))
    (stranger_dir / CERT_FILE).write_bytes(cert)
    (stranger_dir / KEY_FILE).write_bytes(key)
    stranger = dataclasses.replace(hub_config, data_dir=stranger_dir,
                                   listen=f"127.0.0.1:{free_port()}")
    async with running_hub(hub_config):
        # A pinned set (so the refused certificate is looked at), not holding the stranger's.
        token = await invite(hub_config, "alice", 3600, time.time(),
                             addresses=[hub_config.listen, stranger.listen], pins=["cd" * 32])
        alice = await join(token, tmp_path / "alice")
    async with running_hub(stranger), HubClient(alice, attempts=3) as client:
        with pytest.raises(HubUnreachable, match=r"CERTIFICATE_VERIFY_FAILED"):
            await client.send([brute("45.13.4.1")])
    assert load_member_state(tmp_path / "alice").cert_pem == alice.cert_pem


def test_hub_invite_lists_the_configured_replicas_or_the_ones_given(
    hub_config: HubConfig,
) -> None:
    config_file = hub_config.data_dir / "hub.toml"
    config_file.write_text(config_file.read_text()
                           + 'public_addresses = ["10.0.0.1:8443", "[2001:db8::2]:8443"]\n'
                           + f'pinned = ["{"cd" * 32}"]\n')
    runner = CliRunner()
    configured = runner.invoke(cli, ["hub", "invite", "--data", str(hub_config.data_dir)])
    given = runner.invoke(cli, ["hub", "invite", "--data", str(hub_config.data_dir),
                                "--address", "hub.example.org:443", "--pin", "ef" * 32])
    assert configured.exit_code == 0 and given.exit_code == 0, configured.output + given.output
    own = fingerprint((hub_config.data_dir / CERT_FILE).read_text())
    token = decode_token(configured.output.strip())
    assert token.addresses == ("10.0.0.1:8443", "[2001:db8::2]:8443")
    assert token.fingerprints == (own, "cd" * 32)
    token = decode_token(given.output.strip())
    assert token.addresses == ("hub.example.org:443",)
    assert token.fingerprints == (own, "ef" * 32)


def test_a_bad_replica_address_in_hub_toml_is_an_error_naming_the_key(
    hub_config: HubConfig,
) -> None:
    from shieldwall.errors import ConfigError

    config_file = hub_config.data_dir / "hub.toml"
    config_file.write_text(config_file.read_text() + 'public_addresses = ["10.0.0.1"]\n')
    with pytest.raises(ConfigError, match="public_addresses"):
        load_hub_config(hub_config.data_dir)


async def test_a_member_adds_a_replica_that_presents_its_pinned_certificate_only(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    other = dataclasses.replace(hub_config, listen=f"127.0.0.1:{free_port()}")
    cert, key = make_certificate(["127.0.0.1"], datetime.datetime.now(datetime.UTC))
    stranger_dir = tmp_path / "stranger"
    shutil.copytree(hub_config.data_dir, stranger_dir)
    (stranger_dir / CERT_FILE).write_bytes(cert)
    (stranger_dir / KEY_FILE).write_bytes(key)
    stranger = dataclasses.replace(hub_config, data_dir=stranger_dir,
                                   listen=f"127.0.0.1:{free_port()}")
    data = ["--data", str(tmp_path / "alice")]
    runner = CliRunner()
    async with running_hub(hub_config):
        await join(await invite(hub_config, "alice", 3600, time.time()), tmp_path / "alice")
    async with running_hub(other), running_hub(stranger):
        added = await asyncio.to_thread(
            runner.invoke, cli, ["hubs", *data, "--add", other.listen])
        refused = await asyncio.to_thread(
            runner.invoke, cli, ["hubs", *data, "--add", stranger.listen])
    assert added.exit_code == 0, added.output
    assert added.output.split() == [hub_config.listen, other.listen]
    assert refused.exit_code != 0 and "does not match" in refused.output
    removed = runner.invoke(cli, ["hubs", *data, "--remove", hub_config.listen])
    assert removed.output.split() == [other.listen]
    last = runner.invoke(cli, ["hubs", *data, "--remove", other.listen])
    assert last.exit_code != 0 and "at least one" in last.output
    assert load_member_state(tmp_path / "alice").addresses == (other.listen,)
