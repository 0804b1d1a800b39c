"""``POST /v1/proxies`` on a real hub (HTTPS on loopback; SQLite, and PostgreSQL with one
replica that leads): a member declares its proxies, its own detections of them are refused,
the others' reports are judged as ever, and hostile declarations change nothing."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import msgspec
import pytest

from shieldwall.errors import HubError, SignalError
from shieldwall.hub.config import HubConfig
from shieldwall.hub.proxies import MAX_PROXIES
from shieldwall.signals.client import HubClient
from shieldwall.signals.keys import new_seed
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import backend_hub, ledger_of, new_member, running_hub
from tests.integration.pg_cluster import pg_cluster_fixture

PROXY = "45.13.9.80"
ATTACKER = "45.13.7.1"

cluster = pg_cluster_fixture()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    """The same hub on each backend (on PostgreSQL: one replica, which leads)."""
    return backend_hub(request, tmp_path / "hub")


def brute(target: str) -> list[Signal]:
    """A detection the default policy decides on one member's word (confirmed)."""
    return [Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=12,
                   evidence=(f"Failed password for root from {target} port 22 ssh2",))]


async def post(state: MemberState, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = headers if headers is not None else sign_request(
        state.seed, state.key_id, "POST", "/v1/proxies", time.time(), body)
    async with httpx.AsyncClient(base_url=state.base_url, verify=state.ssl_context()) as http:
        return await http.post("/v1/proxies", content=body, headers=sent)


async def test_a_members_detection_of_its_declared_proxy_is_refused_but_others_reports_count(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        async with HubClient(alice) as a, HubClient(bob) as b:
            assert await a.declare_proxies([PROXY, "2001:db8:1::/48"]) == [PROXY, "2001:db8:1::/48"]
            # alice's logs blame her own proxy: her misconfiguration, never a block
            assert (await a.send(brute(PROXY))).decisions == ()
            assert (await a.send(brute(f"::ffff:{PROXY}"))).decisions == ()
            assert len((await a.send(brute(ATTACKER))).decisions) == 1
            # bob's report of the same address is the policy's to judge: it decides
            assert len((await b.send(brute(PROXY))).decisions) == 1
    async with ledger_of(hub_config) as ledger:
        assert await ledger.declared_proxies() == {"alice": (PROXY, "2001:db8:1::/48")}
        stored = await ledger.signals_for([PROXY], 10)
    outcomes = sorted((s.member, s.outcome) for s in stored if s.signal.target == PROXY)
    assert outcomes == [("alice", "protected"), ("bob", "decided")]
    assert all("declared proxy" in s.note for s in stored if s.member == "alice")


async def test_a_hostile_member_cannot_shield_an_address_from_the_others(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        mallory = await new_member(hub_config, tmp_path / "m", "mallory")
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        async with HubClient(mallory) as m, HubClient(bob) as b:
            # the attacker bob is about to report, called mallory's "proxy"
            assert await m.declare_proxies([ATTACKER]) == [ATTACKER]
            assert len((await b.send(brute(ATTACKER))).decisions) == 1
            # the Internet as a proxy: refused, and the last declaration stands
            for wide in (["0.0.0.0/0"], ["::/0"], ["45.0.0.0/8"], [ATTACKER, "0.0.0.0/1"]):
                with pytest.raises(SignalError, match="wider than"):
                    await m.declare_proxies(wide)
            with pytest.raises(SignalError, match=f"length <= {MAX_PROXIES}"):
                await m.declare_proxies([f"45.14.{i // 250}.{i % 250}" for i in range(MAX_PROXIES + 1)])
    async with ledger_of(hub_config) as ledger:
        assert await ledger.declared_proxies() == {"mallory": (ATTACKER,)}


async def test_hostile_declaration_requests_are_refused_and_store_nothing(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        good = msgspec.json.encode({"proxies": [PROXY]})

        async def refused(body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
            answer = await post(alice, body, headers)
            assert answer.status_code >= 400, answer.text
            return answer.status_code, str(answer.json()["reason"])

        assert await refused(good, {}) == (401, "unsigned")
        forged = sign_request(new_seed(), alice.key_id, "POST", "/v1/proxies", time.time(), good)
        assert await refused(good, forged) == (401, "forged")
        swapped = sign_request(alice.seed, alice.key_id, "POST", "/v1/proxies", time.time(), good)
        assert await refused(msgspec.json.encode({"proxies": ["0.0.0.0/0"]}), swapped) == (401, "altered")
        assert await refused(b'{"proxies": [], "member": "bob"}') == (400, "malformed")
        assert await refused(b'{"proxies": "0.0.0.0/0"}') == (400, "malformed")
        assert await refused(b"\xff\xfe") == (400, "malformed")
        assert await refused(msgspec.json.encode({"proxies": ["proxy.example.com"]})) == (400, "invalid")
        assert (await refused(b'{"proxies": ["' + b"1" * 20_000 + b'"]}'))[1] == "too-large"
        answer = await post(alice, good)
        assert answer.status_code == 200 and answer.json() == {"name": "alice", "proxies": [PROXY]}
        # withdrawn, then a member that left can declare nothing
        assert (await post(alice, b'{"proxies": []}')).json()["proxies"] == []
        async with HubClient(alice) as a:
            await a.leave()
        assert (await refused(good))[0] == 401
    async with ledger_of(hub_config) as ledger:
        assert await ledger.declared_proxies() == {}


async def test_the_ledger_keeps_one_declaration_per_active_member_on_either_backend(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "alice")
        await new_member(hub_config, tmp_path / "b", "bob")
    async with ledger_of(hub_config) as ledger:
        await ledger.declare_proxies("alice", (PROXY,), time.time())
        await ledger.declare_proxies("alice", ("45.13.9.81", "45.13.9.82"), time.time())  # replaces
        await ledger.declare_proxies("bob", (PROXY,), time.time())  # a shared CDN edge
        assert await ledger.declared_proxies() == {"alice": ("45.13.9.81", "45.13.9.82"), "bob": (PROXY,)}
        await ledger.revoke_member("bob", "left", time.time())
        for name in ("bob", "nobody"):
            with pytest.raises(HubError, match="no active member"):
                await ledger.declare_proxies(name, (PROXY,), time.time())
        await ledger.declare_proxies("alice", (), time.time())
        assert await ledger.declared_proxies() == {"bob": (PROXY,)}
