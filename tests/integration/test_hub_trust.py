"""Trust on a real hub: probation, canaries and disputes over HTTPS, real clients; the ledger
on SQLite and on a database of the run's private PostgreSQL cluster (each test runs on both)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest

from shieldwall.decisions.decision import Decision
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import SignalError
from shieldwall.hub.admin import explain
from shieldwall.hub.canaries import CANARY_FILE
from shieldwall.hub.config import HubConfig
from shieldwall.hub.trust_admin import release
from shieldwall.signals.client import HubClient
from shieldwall.signals.signal import Signal
from tests.integration.hub_harness import backend_hub, ledger_of, new_member, running_hub
from tests.integration.pg_cluster import pg_cluster_fixture

ATTACKER = "45.13.7.9"
CANARY = "45.99.0.7"
cluster = pg_cluster_fixture()


def brute(target: str = ATTACKER) -> Signal:
    return Signal(kind="detection", target=target, scenario="ssh-bruteforce", count=6)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def hub_config(request: pytest.FixtureRequest, tmp_path: Path) -> HubConfig:
    config = backend_hub(request, tmp_path / "hub")
    policy = config.data_dir / "policy.toml"
    # Only the first member is a founder; "carol" is vouched for by the council.
    text = policy.read_text().replace('founders = "24h"', 'founders = "0s"')
    policy.write_text(text.replace("vouched = []", 'vouched = ["carol"]'))
    (config.data_dir / CANARY_FILE).write_text(f"{CANARY}  # a secret\n")
    return config


def test_the_dispute_route_is_served_by_its_own_handler(hub_config: HubConfig) -> None:
    from shieldwall.hub.app import create_app
    from shieldwall.hub.disputes_api import post_dispute

    routes = {getattr(r, "path", ""): getattr(r, "endpoint", None)
              for r in create_app(hub_config).routes}
    assert routes["/v1/disputes"] is post_dispute


async def take(follower: DecisionFollower, count: int) -> list[Decision]:
    got: list[Decision] = []

    async def run() -> None:
        async for decision in follower:
            got.append(decision)
            if len(got) >= count:
                return

    await asyncio.wait_for(run(), 10)
    return got


async def test_a_newcomer_waits_a_canary_quarantines_and_a_dispute_lifts(
    hub_config: HubConfig, tmp_path: Path,
) -> None:
    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        await asyncio.sleep(1.1)  # bob and carol join after the founder
        bob = await new_member(hub_config, tmp_path / "b", "bob")
        carol = await new_member(hub_config, tmp_path / "c", "carol")
        async with HubClient(bob) as client:
            waiting = await client.send([brute("45.13.7.10")])
            caught = await client.send([brute(CANARY), brute("45.13.7.11")])
        async with HubClient(alice) as client:
            blocked = await client.send([brute()])
        async with DecisionFollower(alice) as follower:
            stream = asyncio.create_task(take(follower, 2))
            async with HubClient(bob) as client:
                weak = msgspec.json.decode(await (await client.request(
                    "POST", "/v1/disputes",
                    b'{"target":"45.13.7.9","reason":"customer","evidence":["login ok"]}',
                )).aread())
            async with HubClient(carol) as client:
                strong = msgspec.json.decode((await client.request(
                    "POST", "/v1/disputes", b'{"target":"45.13.7.9","reason":"logins"}',
                )).content)
                with pytest.raises(SignalError):
                    await client.request("POST", "/v1/disputes", b'{"target":"x","why":1}')
            got = await stream
    assert waiting.decisions == () and caught.decisions == () and len(blocked.decisions) == 1
    assert weak["outcome"] == "quarantined"  # bob reported the canary: his word counts for nothing
    assert strong["outcome"] == "lifted" and strong["lifted"] == [ATTACKER]
    assert [(d.action, d.scenario) for d in got] == [("block", "ssh-bruteforce"),
                                                    ("lift", "dispute-lift")]
    now = time.time()
    async with ledger_of(hub_config) as ledger:
        why = (await explain(ledger, hub_config, "45.13.7.11", now)).render(now)
        lifted = (await explain(ledger, hub_config, ATTACKER, now)).render(now)
        assert await release(ledger, hub_config.policy(), hub_config.protections(), "bob",
                             "council act 1", now)
        assert not await release(ledger, hub_config.policy(), hub_config.protections(), "bob",
                                 "again", now)
    assert "quarantined" in why and "reported canary" in why
    assert "dispute" in lifted and "carol" in lifted


def test_hub_members_shows_trust_and_hub_release_lifts_a_quarantine(hub_config: HubConfig) -> None:
    from click.testing import CliRunner

    from shieldwall.cli.main import cli
    from shieldwall.hub.ledger.storage import InviteRecord, JournalEntry, MemberRecord
    from shieldwall.hub.members import secret_hash
    from shieldwall.hub.trust import JOURNAL_KIND, TrustEvent, encode_event

    config = hub_config
    now = time.time()

    async def prepare() -> None:
        async with ledger_of(config) as ledger:
            for name, joined in (("alice", now - 10 * 86400), ("mallory", now)):
                await ledger.add_invite(InviteRecord(secret_hash(name), name, joined, now + 60))
                await ledger.redeem_invite(secret_hash(name), MemberRecord(
                    name, "k" + name, b"\0" * 32, (), joined), joined)
            event = TrustEvent("quarantine", "mallory", now, f"reported canary {CANARY}")
            await ledger.journal_append(
                [JournalEntry(JOURNAL_KIND, "mallory", now, encode_event(event))])

    asyncio.run(prepare())
    runner = CliRunner()
    data = ["--data", str(config.data_dir)]
    listed = runner.invoke(cli, ["hub", "members", *data])
    assert listed.exit_code == 0, listed.output
    [alice, mallory, why] = listed.output.splitlines()
    assert "trusted" in alice and "w1.00" in alice
    assert "quarantined" in mallory and "reported canary" in why
    as_json = runner.invoke(cli, ["hub", "members", "--json", *data]).output.splitlines()
    assert msgspec.json.decode(as_json[1])["trust"]["state"] == "quarantined"
    released = runner.invoke(cli, ["hub", "release", "mallory", "--why", "act 3", *data])
    assert released.output.strip() == "released mallory"
    assert "probation" in runner.invoke(cli, ["hub", "members", *data]).output.splitlines()[1]
    again = runner.invoke(cli, ["hub", "release", "mallory", *data])
    assert "not quarantined" in again.output


async def test_an_unsigned_or_oversized_dispute_is_refused(hub_config: HubConfig, tmp_path: Path) -> None:
    import httpx

    async with running_hub(hub_config):
        alice = await new_member(hub_config, tmp_path / "a", "alice")
        async with httpx.AsyncClient(verify=False) as plain:
            unsigned = await plain.post(f"https://{hub_config.listen}/v1/disputes",
                                        content=b'{"target":"45.13.7.9","reason":"other"}')
        async with HubClient(alice) as client:
            with pytest.raises(SignalError):
                await client.request("POST", "/v1/disputes", b" " * (17 * 1024))
    assert unsigned.status_code == 401 and unsigned.json()["reason"] == "unsigned"
