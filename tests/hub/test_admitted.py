"""Admission under a council on a real hub (HTTPS on loopback, SQLite ledger): the join route
refuses invites, and the admitted join answers only a key the council admitted and has not
expelled, whatever a hostile caller signs or replays.

Real parts: the hub under a council founded through the `shieldwall council` CLI, members
admitted by vote (tests.e2e.test_council.Alliance), signed requests made by hand.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from pathlib import Path

import httpx
import pytest

from shieldwall.decisions.feed import Feed
from shieldwall.errors import HubError
from shieldwall.governance.admission import decode_welcome
from shieldwall.hub.config import HubConfig
from shieldwall.hub.create import invite
from shieldwall.hub.governance_council import HubCouncil
from shieldwall.hub.ledger.storage import JournalEntry, MemberChange, MemberRecord
from shieldwall.hub.policy_config import PolicyConfig
from shieldwall.hub.protections import Protections
from shieldwall.signals.admitted import join_admitted, make_member_key
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of
from shieldwall.signals.member_state import load_member_state
from shieldwall.signals.request_signature import sign_request
from tests.e2e.test_council import Alliance
from tests.integration.hub_harness import ledger_of, running_hub


@pytest.fixture
def alliance(tmp_path: Path) -> Alliance:
    return Alliance(tmp_path)


async def test_under_a_council_the_join_route_refuses_an_invite_pointing_to_the_admit_act(
        alliance: Alliance) -> None:
    # An invite made before the council was attached is refused at the join route too.
    async with running_hub(alliance.config):
        cert = ssl.create_default_context(cafile=str(alliance.config.data_dir / "tls.crt"))
        body = {"secret": "s" * 43, "public_key": base64.b64encode(public_key_of(new_seed())).decode()}
        async with httpx.AsyncClient(base_url=f"https://{alliance.config.listen}", verify=cert) as http:
            answer = await http.post("/v1/join", json=body)
    assert answer.status_code == 403 and "council propose admit" in answer.text


async def admitted_join(config: HubConfig, seed: bytes, headers: dict[str, str] | None = None,
                        body: bytes = b'{"nonce": "' + b"ab" * 32 + b'"}') -> httpx.Response:
    cert = ssl.create_default_context(cafile=str(config.data_dir / "tls.crt"))
    target = "/v1/join/admitted"
    signed = headers or sign_request(seed, key_id_of(public_key_of(seed)), "POST", target, time.time(), body)
    async with httpx.AsyncClient(base_url=f"https://{config.listen}", verify=cert) as http:
        return await http.post(target, content=body, headers=signed)


async def test_the_admitted_join_answers_only_a_key_the_council_admitted_and_has_not_expelled(
        alliance: Alliance) -> None:
    async with running_hub(alliance.config):
        (a,) = await alliance.members("a")
        state_a = load_member_state(a.data_dir)
        stranger = await admitted_join(alliance.config, new_seed())
        assert stranger.status_code == 401 and "unknown-key" in stranger.text
        # A signature made by another key, or over another body, or replayed late, is refused.
        body = b'{"nonce": "' + b"cd" * 32 + b'"}'
        target = "/v1/join/admitted"
        forged = sign_request(new_seed(), state_a.key_id, "POST", target, time.time(), body)
        answer = await admitted_join(alliance.config, state_a.seed, forged, body)
        assert answer.status_code == 401 and "forged" in answer.text
        other = sign_request(state_a.seed, state_a.key_id, "POST", target, time.time(), b"{}")
        answer = await admitted_join(alliance.config, state_a.seed, other, body)
        assert answer.status_code == 401 and "altered" in answer.text
        stale = sign_request(state_a.seed, state_a.key_id, "POST", target, time.time() - 3600, body)
        answer = await admitted_join(alliance.config, state_a.seed, stale, body)
        assert answer.status_code == 401 and "stale" in answer.text
        # A second join by the same key is answered the same (idempotent), journaled once.
        again = await admitted_join(alliance.config, state_a.seed)
        assert again.status_code == 200
        assert decode_welcome(again.content).welcome.member == "a"
        with pytest.raises(HubError, match="already holds a membership"):
            await join_admitted(state_a.seed, state_a.addresses, state_a.fingerprints,
                                alliance.config.charter, a.data_dir)
        async with ledger_of(alliance.config) as ledger:
            assert len(await ledger.journal("admitted-join", key="a")) == 1
            # A member in the ledger the council never admitted (one that joined by invite
            # before the council was attached) has nothing to join here.
            old_seed = new_seed()
            old_key = public_key_of(old_seed)
            await ledger.carry_out(JournalEntry("test", "old", time.time(), b""), MemberChange(
                admit=MemberRecord("old-web", key_id_of(old_key), old_key, (), 0.0)))
        answer = await admitted_join(alliance.config, old_seed)
        assert answer.status_code == 403 and "not-admitted" in answer.text
        # Admitted, then expelled: refused from the act on.
        alliance.run("propose", "expel", str(alliance.folder), "--key", alliance.key("alice"),
                     "--member", "a")
        alliance.vote(["carol"])
        deadline = time.monotonic() + 10
        while (answer := await admitted_join(alliance.config, state_a.seed)).status_code == 200:
            assert time.monotonic() < deadline, "the expelled key was still answered"
            await asyncio.sleep(0.1)
        assert answer.status_code == 401 and "revoked" in answer.text


def test_every_invite_path_refuses_under_a_council_as_shieldwall_up_and_the_lab_use_it(
        alliance: Alliance) -> None:
    with pytest.raises(HubError, match="council propose admit") as refused:
        asyncio.run(invite(alliance.config, "web2", 600.0, time.time()))
    assert "shieldwall join --key member.key --hub" in str(refused.value)


async def test_an_admission_registers_the_ranges_the_council_named_but_never_another_members(
        alliance: Alliance, tmp_path: Path) -> None:
    async with ledger_of(alliance.config) as ledger:
        council = HubCouncil(alliance.config, ledger, Feed(ledger.decisions_after), Recorder(), time.time)
        for name, owns in (("acme", "198.51.100.0/22"), ("mallory", "198.51.101.0/24")):
            public = make_member_key(tmp_path / f"{name}.key")
            alliance.run("propose", "admit", str(alliance.folder), "--key", alliance.key("alice"),
                         "--member", name, "--public-key", public, "--owns", owns)
            alliance.vote(["carol"])
            await council.refresh(force=True)
        members = {m.name: m.owns for m in await ledger.members()}
        (acme, mallory) = [await ledger.journal("council", key=seq) for seq in ("2", "3")]
    # Wider than a member may claim unaided: the council voted for it.
    assert members == {"acme": ("198.51.100.0/22",)}
    assert b"owning 198.51.100.0/22" in acme[0].body
    assert b"not registered: owns: 198.51.101.0/24 overlaps 198.51.100.0/22" in mallory[0].body


class Recorder:
    """The Governed side of a writer (the council's ledger effects are under test)."""

    def __init__(self) -> None:
        self.governed: HubCouncil | None = None

    def replace_policy(self, config: PolicyConfig, base: Protections) -> None:
        pass

    def membership_changed(self) -> None:
        pass
