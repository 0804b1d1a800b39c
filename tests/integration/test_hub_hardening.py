"""Hub hardening (issue 10): one hostile member, client or disk fault must not take it down.

Each test reproduces one finding against a real hub over HTTPS on loopback, with
real member clients, then holds the line, on both backends (SQLite; PostgreSQL with
one replica) except the findings about the SQLite file itself (F8's damaged WAL, F9,
F10). Raw TLS sockets stand in for clients that misbehave below HTTP (half-sent
headers or bodies).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import shutil
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import msgspec
import nacl.signing
import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.decisions.decision import Decision
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import HubError, SignalError
from shieldwall.hub.admin import expel
from shieldwall.hub.config import HubConfig
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.replication import ReplicaDesk
from shieldwall.hub.server import HubServer
from shieldwall.hub.writer import Writer
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.envelope import Envelope, EnvelopeBody, body_digest, seal_envelope
from shieldwall.signals.keys import new_seed
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import (
    hub_context,
    init_hub,
    invite,
    ledger_of,
    new_member,
    running_hub,
)
from tests.integration.hub_processes import without_trust
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture


def brute(target: str) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6)


cluster = pg_cluster_fixture()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    """The same hub on each backend (on PostgreSQL: one replica, which leads), trust rules
    off: members here make tens of decisions alone, past the policy's solo_open cap."""
    if request.param == "postgresql":
        pg: PgCluster = request.getfixturevalue("cluster")
        return without_trust(init_hub(tmp_path / "hub", "--database", pg.new_database()))
    return without_trust(init_hub(tmp_path / "hub"))


@pytest.fixture
def sqlite_hub_config(tmp_path: Path) -> HubConfig:
    """For the findings about the SQLite file itself (deleted, read-only, a damaged WAL)."""
    return without_trust(init_hub(tmp_path / "hub"))


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not any(r is record for r in self.records):  # seen on each logger it reaches
            self.records.append(record)

    def text(self) -> str:
        return "\n".join(
            f"{r.levelname} {r.name}: {r.getMessage()} {r.exc_text or ''}"
            + (" TRACEBACK" if r.exc_info else "")
            for r in self.records
        )


@pytest.fixture
def hub_log() -> Iterator[Records]:
    """Everything the hub and uvicorn log (uvicorn's loggers do not propagate)."""
    handler = Records()
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "shieldwall")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def signed(state: MemberState, body: bytes, path: str = "/v1/signals") -> dict[str, str]:
    headers = sign_request(state.seed, state.key_id, "POST", path, time.time(), body)
    headers["content-type"] = "application/json"
    return headers


def http(state: MemberState) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=state.base_url, verify=state.ssl_context())


async def metric(config: HubConfig, name: str) -> float:
    async with httpx.AsyncClient(verify=False) as client:
        text = (await client.get(f"https://{config.listen}/metrics")).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@contextlib.asynccontextmanager
async def raw_tls(config: HubConfig) -> AsyncIterator[tuple[asyncio.StreamReader,
                                                            asyncio.StreamWriter]]:
    host, port = config.listen.rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def until(check: object, timeout: float = 10.0) -> None:
    """Poll an async predicate (a bound on a wait, not an assertion on time)."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


def deciding_writer(server: HubServer) -> Writer:
    """The writer that runs the policy: the hub's own, or on PostgreSQL the leader's."""
    writer = hub_context(server).writer
    if isinstance(writer, ReplicaDesk):
        assert writer.writer is not None, "the only replica should lead"
        return writer.writer
    return writer


# -- F1: oversize integers -----------------------------------------------------------------
def sealed_anyway(state: MemberState, seq: int, signal: Signal) -> bytes:
    """A correctly signed envelope whatever its values (what a hostile member sends)."""
    body = EnvelopeBody(key_id=state.key_id, seq=seq, ts=time.time(), signals=(signal,))
    digest = body_digest(body)
    signature = nacl.signing.SigningKey(state.seed).sign(bytes.fromhex(digest)).signature
    return msgspec.json.encode(Envelope(
        key_id=body.key_id, seq=seq, ts=body.ts, signals=body.signals, digest=digest,
        sig=base64.b64encode(signature).decode(),
    ))


@pytest.mark.parametrize(("field", "value"), [("count", 2**63), ("seq", 2**63)])
async def test_f1_an_oversize_integer_is_a_400_naming_the_field_and_others_are_applied(
    hub_config: HubConfig, tmp_path: Path, field: str, value: int
) -> None:
    async with running_hub(hub_config) as server:
        mallory = await new_member(hub_config, tmp_path / "m", "mallory")
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        signal = brute("45.13.7.1")
        if field == "count":
            poison = sealed_anyway(mallory, 1, msgspec.structs.replace(signal, count=value))
        else:
            poison = sealed_anyway(mallory, value, signal)

        async def poison_once() -> httpx.Response:
            async with http(mallory) as client:
                return await client.post("/v1/signals", content=poison,
                                         headers=signed(mallory, poison))

        async def honest(client: HubClient, i: int) -> int:
            return len((await client.send([brute(f"45.13.8.{i}")])).decisions)

        # One client for alice, as an agent has: it sends her envelopes in sequence order
        # (separate clients racing each other would have the later sequence land first).
        async with HubClient(alice) as client:
            results = await asyncio.gather(*(poison_once() for _ in range(20)),
                                           *(honest(client, i) for i in range(20)))
        poisoned = [r for r in results if isinstance(r, httpx.Response)]
        assert {r.status_code for r in poisoned} == {400}
        assert all(field in r.json()["detail"] for r in poisoned)
        assert [r for r in results if isinstance(r, int)] == [1] * 20
        assert deciding_writer(server).crashes == 0
    async with ledger_of(hub_config) as ledger:
        assert await ledger.head() == 20


# -- F2: a client that goes away while its body is read ----------------------------------
@pytest.mark.parametrize("path", ["/v1/signals", "/v1/join"])
async def test_f2_a_client_leaving_mid_body_gets_no_500_and_no_traceback(
    hub_config: HubConfig, tmp_path: Path, hub_log: Records, path: str
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        body = b'{"secret": "' + b"x" * 5000 + b'"}'
        headers = signed(alice, body, path) if path == "/v1/signals" else {}
        before = await metric(hub_config, 'shieldwall_http_errors_total{status="400"}')
        for _ in range(3):
            async with raw_tls(hub_config) as (_reader, writer):
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                writer.write(
                    f"POST {path} HTTP/1.1\r\nHost: hub\r\nContent-Length: {len(body)}\r\n"
                    f"{head}\r\n".encode() + body[:100]
                )
                await writer.drain()
                await asyncio.sleep(0.1)

        async def all_seen() -> bool:
            now = await metric(hub_config, 'shieldwall_http_errors_total{status="400"}')
            return now - before >= 3

        await until(all_seen)
        assert await metric(hub_config, 'shieldwall_http_errors_total{status="500"}') == 0
    assert "TRACEBACK" not in hub_log.text() and "Traceback" not in hub_log.text()
    assert not [r for r in hub_log.records if r.levelno >= logging.ERROR], hub_log.text()


# -- F6: nothing is buffered before authentication ----------------------------------------
async def test_f6_a_stranger_is_refused_before_the_hub_reads_any_body(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        forged = sign_request(new_seed(), alice.key_id, "POST", "/v1/signals", time.time(),
                              b"x" * 4_000_000)
        for headers in ({}, forged):
            async with raw_tls(hub_config) as (reader, writer):
                head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                writer.write(f"POST /v1/signals HTTP/1.1\r\nHost: hub\r\n"
                             f"Content-Length: 4000000\r\n{head}\r\n".encode() + b"x" * 1000)
                await writer.drain()
                # The answer comes while 3,999,000 bytes are still unsent.
                status = await asyncio.wait_for(reader.readline(), 10)
            assert status.startswith(b"HTTP/1.1 401"), status
            budget = hub_context(server).budget
            assert budget.held == 0 and budget.refused == 0  # nothing reserved for them


async def test_f6_bodies_being_read_together_cannot_exceed_the_budget(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    config = replace(hub_config, body_budget=1_000_000)
    async with running_hub(config) as server:
        alice = await new_member(config, tmp_path / "a", "alice")
        body = b"x" * 600_000
        headers = "".join(f"{k}: {v}\r\n" for k, v in signed(alice, body).items())
        request = (f"POST /v1/signals HTTP/1.1\r\nHost: hub\r\nContent-Length: {len(body)}\r\n"
                   f"{headers}\r\n").encode()
        async with raw_tls(config) as (_r1, first), raw_tls(config) as (second, w2):
            first.write(request + body[:10])  # holds 600 kB of the budget, never finishes
            await first.drain()
            await until(lambda: _held(server))
            w2.write(request + body[:10])
            await w2.drain()
            status = await asyncio.wait_for(second.readline(), 10)
        assert status.startswith(b"HTTP/1.1 503"), status
        assert hub_context(server).budget.refused == 1


async def _held(server: object) -> bool:
    return hub_context(server).budget.held > 0  # type: ignore[arg-type]


# -- F7: slow headers -----------------------------------------------------------------------
async def test_f7_connections_with_unfinished_headers_are_closed_counted_and_logged(
    hub_config: HubConfig, tmp_path: Path, hub_log: Records
) -> None:
    config = replace(hub_config, header_timeout=2.0)
    async with running_hub(config):
        alice = await new_member(config, tmp_path / "a", "alice")
        async with contextlib.AsyncExitStack() as stack:
            conns = []
            for _ in range(30):
                reader, writer = await stack.enter_async_context(raw_tls(config))
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: hu")
                await writer.drain()
                conns.append((reader, writer))
            for reader, _ in conns:
                assert await closed_by_peer(reader)
        assert await metric(config, "shieldwall_http_header_timeouts_total") == 30
        async with HubClient(alice) as client:  # members are served meanwhile
            assert (await client.send([brute("45.13.7.1")])).status == "applied"
    warnings = [r for r in hub_log.records if "did not arrive within" in r.getMessage()]
    assert len(warnings) == 1  # logged, but not once per connection


async def closed_by_peer(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 10) == b""
    except (ConnectionResetError, ssl.SSLError):
        return True


# -- F4: an expelled member's open stream ----------------------------------------------
async def test_f4_an_expelled_members_open_stream_is_cut_before_any_new_decision(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        got: list[Decision] = []
        async with DecisionFollower(alice) as follower:

            async def follow() -> None:
                async for decision in follower:
                    got.append(decision)

            task = asyncio.create_task(follow())

            async def streaming() -> bool:
                return await metric(hub_config, "shieldwall_members_connected") == 1

            await until(streaming)
            async with ledger_of(hub_config) as ledger:
                await expel(ledger, "alice", time.time())

            async def cut() -> bool:
                return await metric(hub_config, "shieldwall_members_connected") == 0

            await until(cut)
            async with HubClient(bob) as client:
                acks = [await client.send([brute(f"45.13.7.{i}")]) for i in range(5)]
            with pytest.raises(SignalError) as caught:
                await asyncio.wait_for(task, 10)
        assert caught.value.reason == "revoked-key"
        assert sum(len(a.decisions) for a in acks) == 5 and got == []


# -- F11, F12 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["operator", "Operator", "hub", "council"])
async def test_f11_a_member_cannot_take_a_name_the_hub_uses_for_itself(
    hub_config: HubConfig, tmp_path: Path, name: str
) -> None:
    async with running_hub(hub_config):
        token = await invite(hub_config)
        with pytest.raises(SignalError, match="reserved") as caught:
            await join(token, tmp_path / "m", name=name)
    assert caught.value.reason == "invalid"


async def test_f12_a_stranger_knowing_a_key_id_cannot_raise_its_rejected_count(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        stranger = new_seed()
        raw = seal_envelope(stranger, alice.key_id, 1, time.time(), [brute("45.13.7.1")])
        async with http(alice) as client:
            for _ in range(10):
                forged = sign_request(stranger, alice.key_id, "POST", "/v1/signals",
                                      time.time(), raw)
                response = await client.post("/v1/signals", content=raw, headers=forged)
                assert response.status_code == 401
        async with HubClient(alice) as client:
            await client.send([brute("45.13.7.2")])
            sealed = seal_envelope(alice.seed, alice.key_id, 1, time.time(), [brute("45.1.1.1")])
            with pytest.raises(SignalError, match="replayed"):
                await client.send_sealed(sealed)  # her own mistake: that one counts
        await asyncio.sleep(0.6)  # rejections are written with the next group
        async with HubClient(alice) as client:
            await client.send([brute("45.13.7.3")])
    async with ledger_of(hub_config) as ledger:
        (member,) = await ledger.members()
    assert member.rejected == 1


# -- F9, F10: a missing or read-only ledger ------------------------------------------
def test_f9_a_deleted_ledger_is_an_error_not_a_new_empty_hub(sqlite_hub_config: HubConfig) -> None:
    sqlite_hub_config.ledger_path.unlink()
    result = CliRunner().invoke(cli, ["hub", "serve", "--data", str(sqlite_hub_config.data_dir)])
    assert result.exit_code != 0
    assert "hub init" in result.output and "restore" in result.output
    assert not sqlite_hub_config.ledger_path.exists()


async def test_f10_a_ledger_refusing_writes_fails_readyz_while_healthz_stays_ok(
    sqlite_hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(sqlite_hub_config) as server:
        alice = await new_member(sqlite_hub_config, tmp_path / "a", "alice")
        base = f"https://{sqlite_hub_config.listen}"
        async with httpx.AsyncClient(verify=False) as client:
            assert (await client.get(base + "/readyz")).status_code == 200
            ledger = hub_context(server).ledger
            assert isinstance(ledger, SQLiteLedger)
            # SQLite's own read-only switch on the hub's write connection: every write
            # is refused by SQLite as a read-only database would be.
            await ledger._on_writer(lambda conn: conn.execute("PRAGMA query_only = ON"))
            async with HubClient(alice, attempts=1) as member:
                with pytest.raises(HubError):
                    await member.send([brute("45.13.7.1")])
            await asyncio.sleep(2.1)
            ready = await client.get(base + "/readyz")
            health = await client.get(base + "/healthz")
            assert ready.status_code == 503 and ready.json()["reason"] == "not-ready"
            assert "readonly" in ready.json()["detail"] or "read-only" in ready.json()["detail"]
            assert health.status_code == 200
            await ledger._on_writer(lambda conn: conn.execute("PRAGMA query_only = OFF"))

            async def ready_again() -> bool:
                return (await client.get(base + "/readyz")).status_code == 200

            await until(ready_again)


# -- F8: a ledger that went back ------------------------------------------------------
async def test_f8_a_flipped_byte_in_the_wal_makes_the_hub_refuse_to_serve_then_recover(
    sqlite_hub_config: HubConfig, tmp_path: Path
) -> None:
    copy = tmp_path / "crashed"
    async with running_hub(sqlite_hub_config) as server:
        alice = await new_member(sqlite_hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            for i in range(40):
                await client.send([brute(f"45.13.7.{i}")])
        mark = sqlite_hub_config.ledger_path.with_name("ledger.db.head")

        async def marked() -> bool:
            return mark.exists() and b'"head":40' in mark.read_bytes()

        await until(marked)
        assert hub_context(server).feed.head == 40
        # The files as a SIGKILL would leave them (the WAL not yet checkpointed).
        shutil.copytree(sqlite_hub_config.data_dir, copy)
    wal = copy / "ledger.db-wal"
    data = bytearray(wal.read_bytes())
    assert len(data) > 100_000, "the commits should still be in the WAL"
    data[len(data) // 3] ^= 0xFF
    wal.write_bytes(bytes(data))

    result = await asyncio.to_thread(CliRunner().invoke, cli, ["hub", "serve", "--data", str(copy)])
    assert result.exit_code != 0
    assert "already announced cursor 40" in result.output and "hub recover" in result.output

    recovered = await asyncio.to_thread(
        CliRunner().invoke, cli, ["hub", "recover", "--data", str(copy)]
    )
    assert recovered.exit_code == 0 and "after cursor 40" in recovered.output, recovered.output
    ledger = SQLiteLedger(copy / "ledger.db")
    await ledger.open()
    try:
        await ledger.check_integrity()
        from shieldwall.hub.ledger.storage import DecisionRecord, WriteGroup

        record = DecisionRecord("block", "45.99.0.1", time.time() + 60, "x", "t", time.time())
        assert await ledger.write(WriteGroup(decisions=[record])) == [41]  # no cursor reused
    finally:
        await ledger.close()


async def test_f8_a_member_whose_cursor_is_ahead_of_the_hub_stops_and_reports(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            await client.send([brute("45.13.7.1")])
        got: list[Decision] = []
        async with DecisionFollower(alice, after=500) as follower:
            async def follow() -> None:
                async for decision in follower:
                    got.append(decision)

            await asyncio.wait_for(follow(), 10)  # ends on its own instead of following
    assert got == []
    assert follower.incident is not None and "cursor 500" in follower.incident


async def test_f8_the_agent_reports_a_hub_behind_its_cursor_as_an_incident_and_keeps_its_blocks(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    from shieldwall.agent.config import AgentConfig
    from shieldwall.agent.runtime import AgentRuntime
    from shieldwall.enforcers.block import Block

    notes: list[tuple[str, dict[str, object]]] = []
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "alice")
        runtime = AgentRuntime(AgentConfig(data_dir=tmp_path / "a", backend="memory"),
                               notes=lambda event, fields: notes.append((event, fields)))
        runtime.store.put([Block("45.13.7.9", time.time() + 600, origin="hub", created=time.time())])
        runtime.core.cursor = 500  # what the member saw before the hub lost its log
        await asyncio.wait_for(runtime._follow(), 10)  # ends instead of following
    incidents = [fields for event, fields in notes if event == "hub.incident"]
    assert len(incidents) == 1 and "cursor 500" in str(incidents[0]["error"])
    assert "45.13.7.9" in runtime.store.active(time.time())
    runtime.store.close()
    runtime.state.close()


# -- F3: owned ranges at join ----------------------------------------------------------
async def test_f3_claims_are_checked_against_members_blocks_and_the_invite(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "alice", ("45.13.9.0/24",))
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        async with HubClient(bob) as client:
            await client.send([brute("45.14.0.7")])
        refused = {
            "someone's range": ("45.13.9.128/25",),
            "a block in force": ("45.14.0.0/24",),
            "too wide": ("80.0.0.0/16",),
            "too many": tuple(f"46.0.{i}.0/24" for i in range(65)),
        }
        for index, (why, claims) in enumerate(refused.items()):
            with pytest.raises(SignalError) as caught:
                await join(await invite(hub_config), tmp_path / f"x{index}", claims)
            assert caught.value.reason == "invalid", why
        from shieldwall.hub.create import invite as make_invite

        token = await make_invite(hub_config, "isp", 3600, time.time(), ("80.0.0.0/16",))
        with pytest.raises(SignalError, match="not among the ranges the invite names"):
            await join(token, tmp_path / "isp1", ("81.0.0.0/24",))
        token = await make_invite(hub_config, "isp", 3600, time.time(), ("80.0.0.0/16",))
        isp = await join(token, tmp_path / "isp2", ("80.0.0.0/16",))
    async with ledger_of(hub_config) as ledger:
        owners = {m.name: m.owns for m in await ledger.members()}
    assert owners == {"alice": ("45.13.9.0/24",), "bob": (), isp.name: ("80.0.0.0/16",)}


# -- quotas -----------------------------------------------------------------------------------
async def test_a_member_may_hold_only_so_many_streams(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    config = replace(hub_config, streams_per_member=2)
    async with running_hub(config):
        alice = await new_member(config, tmp_path / "a", "alice")
        async with http(alice) as client, contextlib.AsyncExitStack() as stack:
            statuses = []
            for _ in range(3):
                headers = sign_request(alice.seed, alice.key_id, "GET", "/v1/decisions/stream",
                                       time.time())
                response = await stack.enter_async_context(
                    client.stream("GET", "/v1/decisions/stream", headers=headers))
                statuses.append(response.status_code)
                if response.status_code != 200:
                    body = msgspec.json.decode(await response.aread())
            assert statuses == [200, 200, 429] and body["reason"] == "too-many-streams"
        assert await metric(config, 'shieldwall_quota_refused_total{quota="streams"}') == 1


async def test_a_member_over_its_hourly_signal_quota_gets_a_429_others_do_not(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    config = replace(hub_config, signals_per_hour=5)
    async with running_hub(config):
        alice = await new_member(config, tmp_path / "a", "alice")
        bob = await new_member(config, tmp_path / "b", "bob")
        async with HubClient(alice) as client:
            await client.send([brute(f"45.13.7.{i}") for i in range(5)])
            raw = seal_envelope(alice.seed, alice.key_id, 10**17, time.time(),
                                [brute("45.13.8.1")])
        async with http(alice) as plain:
            response = await plain.post("/v1/signals", content=raw, headers=signed(alice, raw))
        async with HubClient(bob) as client:
            assert (await client.send([brute("45.13.9.1")])).status == "applied"
        refused = await metric(config, 'shieldwall_quota_refused_total{quota="signals"}')
    assert response.status_code == 429, response.text
    assert refused == 1 and response.json()["reason"] == "quota"
    assert "per hour" in response.json()["detail"]
