"""The watcher routes with hostile input, over a real ASGI client; no hub (nothing is sent)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from shieldwall.addresses import parse_ranges
from shieldwall.interop.crowdsec.machines import Machines
from shieldwall.interop.crowdsec.outbox import open_outbox
from shieldwall.interop.crowdsec.watcher_api import MAX_LOGIN_BODY, Gateway, watcher_routes

ALERT = {
    "scenario": "crowdsecurity/ssh-bf", "scenario_hash": "4441dcff", "scenario_version": "0.1",
    "events_count": 6, "start_at": "2026-01-24T15:32:31Z", "stop_at": "2026-01-24T15:32:36Z",
    "capacity": 5, "leakspeed": "10s", "remediation": True, "decisions": None, "events": [],
    "simulated": False, "source": {"scope": "Ip", "value": "179.43.183.98", "ip": "179.43.183.98"},
}


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    return Gateway(
        machines=Machines(tmp_path), outbox=open_outbox(tmp_path), secret=b"k" * 32,
        wake=asyncio.Event(), allowed=parse_ranges(["192.0.2.0/24"], "test").covers,
    )


class Api:
    """The routes, over httpx's ASGI transport."""

    def __init__(self, client: httpx.AsyncClient, gateway: Gateway) -> None:
        self.client = client
        self.gateway = gateway
        self.headers: dict[str, str] = {}

    async def post(self, path: str, auth: bool = True, **kw: Any) -> httpx.Response:
        return await self.client.post(path, headers=self.headers if auth else {}, **kw)

    async def get(self, path: str, auth: bool = True, **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.headers if auth else {}, **kw)

    async def login(self) -> None:
        password = self.gateway.machines.add("cs-agent", time.time())
        answer = await self.post("/v1/watchers/login", auth=False, json={
            "machine_id": "cs-agent", "password": password, "scenarios": []})
        assert answer.status_code == 200
        body = answer.json()
        assert body["code"] == 200 and body["expire"].endswith("Z")
        self.headers = {"Authorization": f"Bearer {body['token']}"}


@pytest.fixture
async def api(gateway: Gateway) -> AsyncIterator[Api]:
    def gateway_of(request: Request) -> Gateway:
        return gateway

    app = Starlette(routes=watcher_routes(gateway_of, time.time))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield Api(client, gateway)


async def test_alerts_are_queued_as_signals_before_the_answer(api: Api) -> None:
    await api.login()
    simulated = {**ALERT, "simulated": True}
    allowed = {**ALERT, "source": {"scope": "Ip", "value": "192.0.2.9"}}
    answer = await api.post("/v1/alerts", json=[ALERT, simulated, allowed])
    assert answer.status_code == 201 and len(answer.json()) == 3
    outbox = api.gateway.outbox
    assert [s.target for _, s in outbox.pending(10)] == ["179.43.183.98"]
    assert api.gateway.wake.is_set()
    counts = api.gateway.counts
    assert counts["skipped.simulated"] == counts["skipped.allowlisted on this member"] == 1
    assert (await api.get("/v1/heartbeat")).status_code == 200


async def test_wrong_passwords_and_bad_tokens_are_refused(api: Api) -> None:
    api.gateway.machines.add("cs-agent", time.time(), "right-password")
    for creds in ({"machine_id": "cs-agent", "password": "wrong-password"},
                  {"machine_id": "nobody", "password": "right-password"},
                  {"machine_id": "cs-agent", "password": "x" * 10_000}):
        answer = await api.post("/v1/watchers/login", json=creds)
        assert (answer.status_code, answer.json()["code"]) == (401, 401)
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        api.headers = headers
        assert (await api.post("/v1/alerts", json=[ALERT])).status_code == 401
        assert (await api.get("/v1/heartbeat")).status_code == 401
    assert api.gateway.outbox.backlog() == 0


async def test_a_deleted_machines_token_stops_working(api: Api) -> None:
    await api.login()
    api.gateway.machines.delete("cs-agent")
    assert (await api.post("/v1/alerts", json=[ALERT])).status_code == 401


async def test_malformed_and_oversized_bodies_are_refused(api: Api) -> None:
    await api.login()
    assert (await api.post("/v1/alerts", content=b"{not json")).status_code == 400
    assert (await api.post("/v1/alerts", json={"scenario": "x"})).status_code == 400
    assert (await api.post("/v1/alerts", json=[{**ALERT, "events_count": "many"}])).status_code == 400
    big = b'{"machine_id":"' + b"a" * MAX_LOGIN_BODY + b'","password":"x"}'
    assert (await api.post("/v1/watchers/login", auth=False, content=big)).status_code == 413
    assert api.gateway.outbox.backlog() == 0


async def test_self_registration_stays_pending_until_validated(api: Api) -> None:
    creds = {"machine_id": "newcomer", "password": "a-long-password"}
    assert (await api.post("/v1/watchers", json=creds)).status_code == 201
    assert (await api.post("/v1/watchers/login", json=creds)).status_code == 401
    assert (await api.post("/v1/watchers", json=creds)).status_code == 403  # the name is taken
    api.gateway.machines.validate("newcomer")
    assert (await api.post("/v1/watchers/login", json=creds)).status_code == 200


async def test_what_newer_agents_also_call_is_answered(api: Api) -> None:
    await api.login()
    assert (await api.post("/v1/usage-metrics", json={"log_processors": []})).status_code == 201
    assert (await api.get("/v1/allowlists?with_content=true")).json() == []
