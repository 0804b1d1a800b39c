"""One hub name behind a load balancer whose replicas present different certificates.

The balancer here is a tiny TCP proxy on loopback written for this test (it stands in
for haproxy or a cloud balancer: it forwards each new connection, whole, to the next
backend in turn, and never looks inside TLS). Behind it run real hubs over HTTPS: hub
A, and replica B, a copy of A's data folder (so that it knows the member) with a
certificate of its own. No PostgreSQL here: what is checked is the member's trust
model (tests/e2e/test_failover.py kills real PostgreSQL replicas). The member's token
names one address, the balancer's, and pins both certificates; it must be served by
either replica, whichever its connection lands on, and must refuse a replica whose
certificate is not pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import HubUnreachable
from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.hub.identity import CERT_FILE, KEY_FILE, fingerprint, make_certificate
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.member_state import load_member_state
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import free_port, init_hub, running_hub


def brute(target: str) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6)


@dataclasses.dataclass
class Balancer:
    """Round-robin TCP forwarding, one backend per connection; counts where each went."""

    backends: list[str]
    listen: str = ""
    sent: dict[str, int] = dataclasses.field(default_factory=dict)
    _turn: int = 0

    def next_backend(self) -> str:
        backend = self.backends[self._turn % len(self.backends)]
        self._turn += 1
        self.sent[backend] = self.sent.get(backend, 0) + 1
        return backend

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self.next_backend().rsplit(":", 1)
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            with contextlib.suppress(OSError):
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@contextlib.asynccontextmanager
async def balancer(*backends: str) -> AsyncIterator[Balancer]:
    lb = Balancer(list(backends))
    server = await asyncio.start_server(lb.handle, "127.0.0.1", 0)
    lb.listen = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield lb
        server.close()


def replica_of(config: HubConfig, folder: Path, cert: bytes, key: bytes) -> HubConfig:
    """A copy of the hub's data folder (its ledger too) serving ``cert`` of its own."""
    shutil.copytree(config.data_dir, folder)
    (folder / CERT_FILE).write_bytes(cert)
    (folder / KEY_FILE).write_bytes(key)
    return dataclasses.replace(config, data_dir=folder, listen=f"127.0.0.1:{free_port()}")


def new_certificate() -> tuple[bytes, bytes]:
    return make_certificate(["127.0.0.1"], datetime.datetime.now(datetime.UTC))


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    return init_hub(tmp_path / "hub")


async def test_one_name_whose_replicas_present_different_pinned_certificates_serves_the_member(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    cert_b, key_b = new_certificate()
    async with balancer(hub_config.listen) as lb:
        async with running_hub(hub_config):
            token = await invite(hub_config, "alice", 3600, time.time(), addresses=[lb.listen],
                                 pins=[fingerprint(cert_b)])
            alice = await join(token, tmp_path / "alice")
        assert alice.addresses == (lb.listen,) and len(alice.fingerprints) == 2
        # Replica B knows alice (a copy of A's folder) and presents its own, pinned certificate.
        replica_b = replica_of(hub_config, tmp_path / "b", cert_b, key_b)
        lb.backends.append(replica_b.listen)
        async with running_hub(hub_config), running_hub(replica_b):
            # B was down at join: its pinned certificate is learnt the first time it is met.
            async with HubClient(alice) as client:
                for i in range(4):
                    await client.send([brute(f"45.13.5.{i + 1}")])
                    async with HubClient(alice) as fresh:  # a new connection
                        await fresh.send([brute(f"45.13.4.{i + 1}")])
            alice = load_member_state(tmp_path / "alice")  # as the agent reads it at start
            assert alice.missing_pins() == ()
            lb.sent.clear()
            acks = []
            for i in range(6):
                # One attempt each, a new connection each: whichever replica it reaches
                # must be trusted at once (no refusal, no retry elsewhere).
                async with HubClient(alice, attempts=1) as client:
                    acks.append(await client.send([brute(f"45.13.6.{i + 1}")]))
            pages = []
            for _ in range(4):
                async with DecisionFollower(alice) as follower:
                    pages.append(await follower.page(0, 100))  # one request, no retry
    assert lb.sent[hub_config.listen] >= 3 and lb.sent[replica_b.listen] >= 3
    assert [a.status for a in acks] == ["applied"] * 6
    # Each replica (its own ledger copy here) answered with its share of the log.
    assert all(p.head >= 1 for p in pages)


async def test_a_replica_behind_the_name_with_an_unpinned_certificate_is_refused(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    cert_b, _ = new_certificate()
    async with balancer(hub_config.listen) as lb:
        async with running_hub(hub_config):
            token = await invite(hub_config, "alice", 3600, time.time(), addresses=[lb.listen],
                                 pins=[fingerprint(cert_b)])
            alice = await join(token, tmp_path / "alice")
        # Behind the same name now: a replica that knows alice but whose certificate
        # is neither A's nor the pinned B's (a misconfigured or hostile backend).
        stranger = replica_of(hub_config, tmp_path / "stranger", *new_certificate())
        lb.backends[:] = [stranger.listen]
        async with running_hub(stranger), HubClient(alice, attempts=3) as client:
            with pytest.raises(HubUnreachable, match=r"CERTIFICATE_VERIFY_FAILED"):
                await client.send([brute("45.13.7.1")])
    assert lb.sent[stranger.listen] >= 1
    assert load_member_state(tmp_path / "alice").cert_pem == alice.cert_pem
