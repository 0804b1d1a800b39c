"""The arsenal's endpoints on a real hub (HTTPS on loopback): repository files, and sightings
that reach the journal only, with every hostile request refused."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import msgspec
import pytest

from shieldwall.arsenal.figures import Sighting, SightingBatch, Usage
from shieldwall.arsenal.measure import SIGHTING, USAGE
from shieldwall.hub.config import HubConfig
from shieldwall.signals.keys import new_seed
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from tests.arsenal.alliance import Council
from tests.integration.hub_harness import hub_context, init_hub, new_member, running_hub

PATH = "/v1/arsenal/sightings"


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    config = init_hub(tmp_path / "hub")
    Council.new().found(config.data_dir / "arsenal")
    return config


def batch(member: str = "") -> bytes:
    sighting = Sighting("quick@1", "quick", "45.33.1.1", time.time(), "shadow", member)
    return msgspec.json.encode(SightingBatch((sighting,), (Usage("quick@1", 100, 0.01),)))


async def post(state: MemberState, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = headers if headers is not None else sign_request(
        state.seed, state.key_id, "POST", PATH, time.time(), body)
    async with httpx.AsyncClient(base_url=state.base_url, verify=state.ssl_context()) as http:
        return await http.post(PATH, content=body, headers=sent)


async def test_sightings_go_to_the_journal_under_the_signing_members_name(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    async with running_hub(hub_config) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        answer = await post(alice, batch(member="bob"))  # a member cannot speak for another
        assert answer.status_code == 200 and answer.json() == {"stored": 2}
        ledger = hub_context(server).ledger
        [entry] = await ledger.journal(SIGHTING)
        assert msgspec.json.decode(entry.body, type=Sighting).member == "alice"
        assert len(await ledger.journal(USAGE, key="quick@1")) == 1
        assert await ledger.decisions_after(0, 10) == []


async def test_hostile_sightings_are_refused(hub_config: HubConfig, tmp_path: Path) -> None:
    async with running_hub(hub_config) as server:
        alice = await new_member(hub_config, tmp_path / "a", "alice")

        async def refused(body: bytes, headers: dict[str, str] | None = None) -> str:
            answer = await post(alice, body, headers)
            assert answer.status_code >= 400, answer.text
            return str(answer.json()["reason"])

        assert await refused(batch(), {}) == "unsigned"
        forged = sign_request(new_seed(), alice.key_id, "POST", PATH, time.time(), batch())
        assert await refused(batch(), forged) == "forged"
        extra = msgspec.json.decode(batch())
        extra["decide"] = True
        assert await refused(msgspec.json.encode(extra)) == "malformed"
        bad_mode = batch().replace(b'"shadow"', b'"block"')
        assert await refused(bad_mode) == "malformed"
        many = msgspec.json.encode(SightingBatch(tuple(
            Sighting("quick@1", "quick", "45.33.1.1", 1.0, "shadow") for _ in range(1001))))
        assert await refused(many) == "malformed"
        assert await hub_context(server).ledger.journal(SIGHTING) == []


async def test_repository_files_are_served_and_nothing_outside_them(hub_config: HubConfig) -> None:
    async with running_hub(hub_config):
        base = f"https://{hub_config.listen}"
        async with httpx.AsyncClient(base_url=base, verify=False) as http:
            root = await http.get("/v1/arsenal/metadata/1.root.json")
            assert root.status_code == 200
            assert root.content == (hub_config.data_dir / "arsenal" / "metadata" / "1.root.json").read_bytes()
            for path in ("/v1/arsenal/metadata/..%2F..%2Fidentity.key", "/v1/arsenal/keys/x",
                         "/v1/arsenal/targets/../../identity.key", "/v1/arsenal/metadata/nope.json"):
                assert (await http.get(path)).status_code == 404, path
