"""The arsenal's endpoints on a real hub (HTTPS on loopback): repository files, and sightings
that reach the journal only, with every hostile request refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from shieldwall.arsenal import changes
from shieldwall.arsenal.figures import Sighting, SightingBatch, Usage
from shieldwall.arsenal.measure import SIGHTING, USAGE
from shieldwall.arsenal.repository import Repository, signer_of
from shieldwall.arsenal.rule import parse_rule
from shieldwall.arsenal.updater import PinnedFetcher, Source, update
from shieldwall.hub.config import HubConfig
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.signals.keys import new_seed
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from tests.arsenal.alliance import Council, rule_text
from tests.arsenal.test_updater import PASSED, _figures
from tests.integration.hub_harness import hub_context, init_hub, new_member, running_hub

PATH = "/v1/arsenal/sightings"


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    config = init_hub(tmp_path / "hub")
    council = Council.new()
    council.hub = (config.data_dir / IDENTITY_FILE).read_bytes()  # the hub's key signs online roles
    council.found(config.data_dir / "arsenal")
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
        # Dates and targets the figures would be skewed by, and ids that name no rule version.
        assert await refused(batch().replace(b'"quick@1"', b'"quick"', 1)) == "malformed"
        old = msgspec.json.encode(SightingBatch((
            Sighting("quick@1", "quick", "45.33.1.1", time.time() - 8 * 86400, "shadow"),)))
        assert await refused(old) == "malformed"
        ahead = msgspec.json.encode(SightingBatch((
            Sighting("quick@1", "quick", "45.33.1.1", time.time() + 3600, "shadow"),)))
        assert await refused(ahead) == "malformed"
        assert await refused(batch().replace(b'"45.33.1.1"', b'"example.org"')) == "malformed"
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


async def test_the_hub_re_signs_a_timestamp_close_to_expiry_before_serving_it(hub_config: HubConfig) -> None:
    repo = Repository(hub_config.data_dir / "arsenal")
    identity = (hub_config.data_dir / IDENTITY_FILE).read_bytes()
    repo.refresh_timestamp(identity, time.time() - 20 * 3600)  # 4 hours left
    old = repo.timestamp_expires()
    base = f"https://{hub_config.listen}"
    async with running_hub(hub_config), httpx.AsyncClient(base_url=base, verify=False) as http:
        served = await http.get("/v1/arsenal/metadata/timestamp.json")
    assert served.status_code == 200
    assert repo.timestamp_expires() > time.time() + 23 * 3600 > old
    assert served.content == (repo.metadata / "timestamp.json").read_bytes()  # the fresh one


@pytest.fixture
def armed(tmp_path: Path) -> tuple[HubConfig, Council, Repository]:
    """A hub whose arsenal holds fast-guess@1 as test (enforcing)."""
    config = init_hub(tmp_path / "armed")
    council = Council.new()
    council.hub = (config.data_dir / IDENTITY_FILE).read_bytes()
    repo = council.found(config.data_dir / "arsenal")
    for draft in (lambda: changes.propose(repo, parse_rule(rule_text("fast-guess")), PASSED, time.time()),
                  lambda: changes.change_status(repo, "fast-guess@1", "test", _figures("fast-guess@1"),
                                                time.time())):
        signed = draft()
        for seed in council.seeds[:2]:
            signed.sign(signer_of(seed), append=True)
        repo.publish(signed, council.hub, time.time())
    return config, council, repo


async def test_an_enforcing_rule_that_hits_a_protected_address_is_put_back_in_shadow(
    armed: tuple[HubConfig, Council, Repository], tmp_path: Path,
) -> None:
    config, _council, repo = armed
    async with running_hub(config):
        await new_member(config, tmp_path / "a", "alice", owns=("45.33.77.0/24",))
        bob = await new_member(config, tmp_path / "b", "bob")
        fetcher = PinnedFetcher(bob.ssl_context())
        try:
            await _demotion(repo, bob, Source(bob.data_dir / "arsenal", f"https://{bob.hub}/v1/arsenal",
                                              repo.root_bytes(1), fetcher))
        finally:
            fetcher.close()


async def _demotion(repo: Repository, bob: MemberState, source: Source) -> None:
    before, _ = await asyncio.to_thread(update, source)
    assert [(a.status, a.effective) for a in before.rules] == [("test", "test")]
    hit = Sighting("fast-guess@1", "fast-guess", "45.33.77.7", time.time(), "live")
    assert (await post(bob, msgspec.json.encode(SightingBatch((hit,))))).status_code == 200
    after, changed = await asyncio.to_thread(update, source)  # its poll runs the charter rule
    assert changed and repo.demoted() == ["fast-guess@1"]
    # Still "test" as the council signed it, run in shadow: no signal, no block.
    assert [(a.status, a.effective) for a in after.rules] == [("test", "experimental")]
