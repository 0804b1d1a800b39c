"""The hub end to end: real HTTPS on loopback, real SQLite, real member clients."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from shieldwall.decisions.decision import Decision
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import HubError, SignalError
from shieldwall.hub.admin import expel, explain
from shieldwall.hub.config import HubConfig
from shieldwall.hub.members import decode_token, encode_token
from shieldwall.hub.operator_relay import operator_lift
from shieldwall.signals.client import HubClient, join
from shieldwall.signals.envelope import seal_envelope
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of
from shieldwall.signals.member_state import MemberState, load_member_state
from shieldwall.signals.request_signature import sign_request
from shieldwall.signals.signal import Signal
from tests.conftest import shared_data
from tests.integration.hub_harness import backend_hub, ledger_of, new_member, running_hub
from tests.integration.hub_processes import without_trust
from tests.integration.pg_cluster import pg_cluster_fixture

ATTACKER = "45.13.7.9"


def brute(target: str = ATTACKER, scenario: str = "ssh-bruteforce") -> Signal:
    return Signal(kind="detection", target=target, scenario=scenario, count=6,
                  evidence=(f"Failed password for root from {target} port 22 ssh2",))


cluster = pg_cluster_fixture()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    """The same hub on each backend (on PostgreSQL: one replica, which leads)."""
    return backend_hub(
        request, tmp_path / "hub", "--never-block", str(shared_data("public-dns-resolvers")),
        "--allow", "45.200.0.0/16",
    )


async def take(follower: DecisionFollower, count: int, timeout: float = 5.0) -> list[Decision]:
    got: list[Decision] = []

    async def run() -> None:
        async for decision in follower:
            got.append(decision)
            if len(got) >= count:
                return

    await asyncio.wait_for(run(), timeout)
    return got


def http(state: MemberState) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=state.base_url, verify=state.ssl_context())


def signed(seed: bytes, key_id: str, body: bytes) -> dict[str, str]:
    """The request headers a member sends with an envelope (checked before the body)."""
    return sign_request(seed, key_id, "POST", "/v1/signals", time.time(), body)


async def test_member_joins_and_its_state_loads_back(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        state = await new_member(hub_config, tmp_path / "m1", "web1", ("45.13.9.0/24",))
    loaded = load_member_state(tmp_path / "m1")
    assert loaded == state and loaded.name == "web1"
    assert (tmp_path / "m1" / "member.json").stat().st_mode & 0o077 == 0
    async with ledger_of(hub_config) as ledger:
        members = await ledger.members()
    assert [(m.name, m.owns) for m in members] == [("web1", ("45.13.9.0/24",))]


async def test_join_token_works_once(hub_config: HubConfig, tmp_path: Path) -> None:
    from tests.integration.hub_harness import invite

    async with running_hub(hub_config):
        token = await invite(hub_config, "web1")
        await join(token, tmp_path / "a")
        with pytest.raises(SignalError, match="already used"):
            await join(token, tmp_path / "b")


async def test_expired_join_token_is_refused(hub_config: HubConfig, tmp_path: Path) -> None:
    from tests.integration.hub_harness import invite

    async with running_hub(hub_config):
        token = await invite(hub_config, "web1", lifetime=-1)
        with pytest.raises(HubError, match="expired"):
            await join(token, tmp_path / "a")


async def test_join_refuses_a_hub_whose_certificate_does_not_match(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    from tests.integration.hub_harness import invite

    async with running_hub(hub_config):
        token = decode_token(await invite(hub_config))
        forged = msgspec.structs.replace(token, fingerprint="0" * 64)
        with pytest.raises(HubError, match="does not match"):
            await join(encode_token(forged), tmp_path / "a")
    assert not (tmp_path / "a" / "member.json").exists()


async def test_a_follower_tells_each_change_of_its_link_up_then_down(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    """What the agent's stream report (read by `shieldwall status`) is written on."""
    links: list[bool] = []

    async def told(expected: list[bool]) -> None:
        for _ in range(250):
            if links == expected:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"links {links}, expected {expected}")

    async with DecisionFollower(await _member_of_a_served_hub(hub_config, tmp_path)) as follower:
        follower.on_link = lambda: links.append(follower.connected)
        async with running_hub(hub_config):
            following = asyncio.create_task(take(follower, 2, timeout=30))
            await told([True])  # the stream is up
        await told([True, False])  # the hub went away: down, at once
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


async def _member_of_a_served_hub(config: HubConfig, folder: Path) -> MemberState:
    async with running_hub(config):
        return await new_member(config, folder / "a", "alice")


async def test_detection_by_one_member_reaches_every_members_stream(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        async with DecisionFollower(alice) as fa, DecisionFollower(bob) as fb:
            waiting = [asyncio.create_task(take(f, 1)) for f in (fa, fb)]
            await asyncio.sleep(0.2)
            async with HubClient(alice) as client:
                ack = await client.send([brute()])
            got = [await w for w in waiting]
    assert ack.status == "applied" and len(ack.decisions) == 1
    for decisions in got:
        assert decisions[0].target == ATTACKER and decisions[0].cursor == ack.decisions[0]
        assert decisions[0].action == "block" and decisions[0].origin == "alice"


async def test_retry_of_the_same_bytes_is_acknowledged_and_applied_once(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        raw = seal_envelope(alice.seed, alice.key_id, 7, time.time(), [brute()])
        async with HubClient(alice) as client:
            first = await client.send_sealed(raw)
            second = await client.send_sealed(raw)
            with pytest.raises(SignalError) as replay:
                await client.send_sealed(
                    seal_envelope(alice.seed, alice.key_id, 7, time.time() + 1, [brute()])
                )
    assert (first.status, second.status) == ("applied", "duplicate")
    assert replay.value.reason == "replayed"
    async with ledger_of(hub_config) as ledger:
        assert (await ledger.members())[0].signals == 1
        assert len(await ledger.signals_for([ATTACKER], 10)) == 1


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "malformed"),
        (b'{"key_id": 5}', 400, "malformed"),
        (b"[1,2,3]", 400, "malformed"),
        (b"x" * (4 * 1024 * 1024 + 1), 413, "too-large"),
    ],
    ids=["broken-json", "wrong-type", "not-an-object", "oversized"],
)
async def test_bad_envelopes_get_a_4xx_problem_and_write_nothing(
    hub_config: HubConfig, tmp_path: Path, body: bytes, status: int, reason: str
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with http(alice) as client:
            response = await client.post(
                "/v1/signals", content=body, headers=signed(alice.seed, alice.key_id, body)
            )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["reason"] == reason
    async with ledger_of(hub_config) as ledger:
        assert await ledger.last_seqs() == {}


async def test_signal_with_invalid_address_rejects_the_whole_batch(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            with pytest.raises(SignalError) as caught:
                await client.send([brute(), brute(target="999.1.1.1")])
    assert caught.value.reason == "invalid-signal"
    async with ledger_of(hub_config) as ledger:
        assert await ledger.head() == 0 and await ledger.last_seqs() == {}


async def test_wrong_types_in_a_signal_are_refused(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        raw = msgspec.json.decode(seal_envelope(alice.seed, alice.key_id, 1, time.time(), [brute()]))
        raw["signals"][0]["count"] = "six"
        body = msgspec.json.encode(raw)
        async with http(alice) as client:
            response = await client.post(
                "/v1/signals", content=body, headers=signed(alice.seed, alice.key_id, body)
            )
    assert response.status_code == 400 and response.json()["reason"] == "malformed"


async def test_stranger_envelope_is_unknown_key(hub_config: HubConfig) -> None:
    async with running_hub(hub_config):
        seed = new_seed()
        key_id = key_id_of(public_key_of(seed))
        raw = seal_envelope(seed, key_id, 1, time.time(), [brute()])
        host = hub_config.listen
        async with httpx.AsyncClient(verify=False) as client:
            response = await client.post(
                f"https://{host}/v1/signals", content=raw, headers=signed(seed, key_id, raw)
            )
    assert response.status_code == 401 and response.json()["reason"] == "unknown-key"


async def test_expelled_member_is_rejected_and_counted(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with ledger_of(hub_config) as ledger:
            await expel(ledger, "alice", time.time())
        async with HubClient(alice) as client:
            with pytest.raises(SignalError) as caught:
                await client.send([brute()])
        async with DecisionFollower(alice) as follower:
            with pytest.raises(SignalError) as stream:
                await take(follower, 1)
        async with httpx.AsyncClient(verify=False) as plain:
            metrics = (await plain.get(f"https://{hub_config.listen}/metrics")).text
    assert caught.value.reason == "revoked-key"
    assert stream.value.reason == "revoked-key"
    assert 'shieldwall_signals_rejected_total{reason="revoked-key"} 2' in metrics


async def test_member_who_left_is_rejected(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            await client.leave()
            with pytest.raises(SignalError) as caught:
                await client.send([brute()])
    assert caught.value.reason == "revoked-key"
    assert not (tmp_path / "a" / "member.json").exists()


@pytest.mark.parametrize("path", ["/v1/decisions", "/v1/decisions/stream", "/v1/decisions?after=0"])
async def test_unsigned_member_requests_get_401(hub_config: HubConfig, path: str) -> None:
    async with running_hub(hub_config), httpx.AsyncClient(verify=False) as client:
        response = await client.get(f"https://{hub_config.listen}{path}")
    assert response.status_code == 401 and response.json()["reason"] == "unsigned"


async def test_forged_request_signature_gets_401(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            headers = client.signed_headers("GET", "/v1/decisions?after=0")
        headers["x-shieldwall-signature"] = base64.b64encode(b"\0" * 64).decode()
        async with http(alice) as plain:
            response = await plain.get("/v1/decisions?after=0", headers=headers)
    assert response.status_code == 401 and response.json()["reason"] == "forged"


async def test_protections_hold_against_every_member(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        await new_member(hub_config, tmp_path / "b", "bob", ("45.13.9.0/24",))
        targets = ["45.13.9.77", "8.8.8.8", "45.200.1.1", "127.0.0.1", "192.168.1.1",
                   hub_config.listen.split(":")[0]]
        async with HubClient(alice) as client:
            ack = await client.send([brute(t) for t in targets])
        async with ledger_of(hub_config) as ledger:
            notes = {t: "{0.outcome}: {0.note}".format((await ledger.signals_for([t], 1))[0])
                     for t in targets}
            head = await ledger.head()
    assert ack.decisions == () and head == 0
    assert notes["45.13.9.77"].startswith("protected: owned by member 'bob'")
    assert "public_dns" in notes["8.8.8.8"] and "allowlist" in notes["45.200.1.1"]
    assert notes["192.168.1.1"].startswith("reserved")
    assert notes["127.0.0.1"].startswith("protected")  # the hub's own address


async def test_operator_lift_travels_like_a_decision(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            await client.send([brute()])
        async with DecisionFollower(alice) as follower:
            waiting = asyncio.create_task(take(follower, 2))
            await asyncio.sleep(0.2)
            async with ledger_of(hub_config) as ledger:
                lifts = await operator_lift(ledger, hub_config, ATTACKER, time.time())
            got = await waiting
        async with HubClient(alice) as client:
            again = await client.send([brute()])
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        async with HubClient(bob) as client:
            seconded = await client.send([brute()])
    assert [d.action for d in got] == ["block", "lift"]
    assert got[1].cursor == lifts[0].cursor
    assert again.decisions == ()  # the lift sticks: alice alone cannot undo it
    assert len(seconded.decisions) == 1  # a second member's word re-blocks


async def test_explain_says_why_and_why_not(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            await client.send([brute(), brute("8.8.8.8"), brute("45.13.7.10", "http-probing")])
    now = time.time()
    async with ledger_of(hub_config) as ledger:
        blocked = (await explain(ledger, hub_config, ATTACKER, now)).render(now)
        protected = (await explain(ledger, hub_config, "8.8.8.8", now)).render(now)
        waiting = (await explain(ledger, hub_config, "45.13.7.10", now)).render(now)
    assert "BLOCKED" in blocked and "Failed password" in blocked and "alice" in blocked
    assert "not blocked" in protected and "protected" in protected
    # http-probing has a quorum of two; a founder's word alone blocks it provisionally
    # ([trust] solo_quorum), and explain says so.
    assert "BLOCKED" in waiting and "provisional" in waiting and "alice's word alone" in waiting


async def test_explain_counts_a_quorum_when_one_member_cannot_block_alone(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    quorum_only(hub_config)
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with HubClient(alice) as client:
            await client.send([brute("45.13.7.10", "http-probing")])
    now = time.time()
    async with ledger_of(hub_config) as ledger:
        waiting = (await explain(ledger, hub_config, "45.13.7.10", now)).render(now)
    assert "not blocked" in waiting and "quorum 1/2" in waiting


def quorum_only(config: HubConfig) -> None:
    """The shipped policy with ``solo_quorum`` off: a quorum scenario waits for its quorum."""
    assert config.policy_file is not None
    text = config.policy_file.read_text()
    assert "solo_quorum = true" in text
    config.policy_file.write_text(text.replace("solo_quorum = true", "solo_quorum = false"))


async def test_offline_member_catches_up_without_gap_or_duplicate(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    # Trust off: alice alone makes 43 decisions here, past the policy's solo_open cap on
    # one member's uncorroborated blocks; what is tested is the cursor walk.
    async with running_hub(without_trust(hub_config)):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with DecisionFollower(alice, page_size=7) as follower:
            first = await take_after_send(alice, follower, [f"45.13.1.{i}" for i in range(1, 4)])
        # Offline while 40 decisions are made, then resume from the last cursor.
        async with HubClient(alice) as client:
            await client.send([brute(f"45.13.2.{i}") for i in range(1, 41)])
        async with DecisionFollower(alice, after=first[-1].cursor, page_size=7) as follower:
            paged = [d async for d in follower.catch_up()]
        async with DecisionFollower(alice, after=first[-1].cursor) as follower:
            streamed = await take(follower, 40)
    cursors = [d.cursor for d in first + paged]
    assert cursors == list(range(1, 44))
    assert [d.cursor for d in streamed] == list(range(4, 44))


async def take_after_send(
    state: MemberState, follower: DecisionFollower, targets: list[str]
) -> list[Decision]:
    waiting = asyncio.create_task(take(follower, len(targets)))
    await asyncio.sleep(0.1)
    async with HubClient(state) as client:
        await client.send([brute(t) for t in targets])
    return await waiting


async def test_openapi_document_and_health_are_served(hub_config: HubConfig) -> None:
    async with running_hub(hub_config), httpx.AsyncClient(verify=False) as client:
        doc = (await client.get(f"https://{hub_config.listen}/openapi.json")).json()
        missing = await client.get(f"https://{hub_config.listen}/nope")
    assert doc["openapi"].startswith("3.") and "/v1/signals" in doc["paths"]
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_quorum_sightings_survive_a_hub_restart(hub_config: HubConfig, tmp_path: Path) -> None:
    quorum_only(hub_config)
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        async with HubClient(alice) as client:
            first = await client.send([brute(scenario="http-probing")])
    # A new hub instance: its memory is rebuilt from the ledger.
    async with running_hub(hub_config), HubClient(bob) as client:
        second = await client.send([brute(scenario="http-probing")])
    assert first.decisions == () and len(second.decisions) == 1


async def test_members_stream_position_is_recorded(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with DecisionFollower(alice) as follower:
            got = await take_after_send(alice, follower, ["45.13.3.1", "45.13.3.2"])
        await asyncio.sleep(0.4)  # the writer records positions with its next idle tick
    async with ledger_of(hub_config) as ledger:
        member = (await ledger.members())[0]
    assert member.cursor == got[-1].cursor and member.signals == 2


@pytest.mark.parametrize("owns", ["0.0.0.0/0", "45.0.0.0/8", "2a01::/16"])
async def test_member_cannot_claim_a_huge_range_as_its_own(
    hub_config: HubConfig, tmp_path: Path, owns: str
) -> None:
    async with running_hub(hub_config):
        with pytest.raises(SignalError, match="wider than"):
            await new_member(hub_config, tmp_path / "a", "alice", (owns,))


async def test_member_retraction_lifts_its_block_for_everyone(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        async with DecisionFollower(bob) as follower:
            waiting = asyncio.create_task(take(follower, 2))
            await asyncio.sleep(0.2)
            async with HubClient(alice) as client:
                await client.send([brute()])
                await client.send(
                    [Signal(kind="retract", target=ATTACKER, scenario="ssh-bruteforce")]
                )
            got = await waiting
    assert [(d.action, d.target) for d in got] == [("block", ATTACKER), ("lift", ATTACKER)]
    assert got[1].scenario == "retracted"


async def test_follower_falls_back_to_pages_when_the_stream_is_unusable(
    hub_config: HubConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stream is replaced by one that always fails (as behind a proxy that buffers
    # or cuts event streams); everything else is the real hub.
    async def broken_stream(self: DecisionFollower, address: str | None = None):  # type: ignore[no-untyped-def]
        raise HubError("stream unusable")
        yield  # pragma: no cover - makes this an async generator

    monkeypatch.setattr(DecisionFollower, "stream", broken_stream)
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with DecisionFollower(alice, backoff=(0.05, 0.1)) as follower:
            got = await take_after_send(alice, follower, ["45.13.4.1", "45.13.4.2"])
            async with HubClient(alice) as client:
                await client.send([brute("45.13.4.3")])
            got += await take(follower, 1)
    assert [d.cursor for d in got] == [1, 2, 3]
