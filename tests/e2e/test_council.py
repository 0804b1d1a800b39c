"""The council on a real hub and real agents over HTTPS on loopback.

Real parts: the hub (uvicorn, TLS, SQLite ledger) running under a council folder
driven by the `shieldwall council` CLI, members joined with real tokens (which carry
the founding charter's digest), real agents following and verifying the decision
stream. Enforcers are the in-memory ones (nftables is covered by tests/e2e/test_alliance.py).
Where a test needs a *hostile* hub (one serving a forged or older act log), it edits
the running hub's in-memory council, and says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from click.testing import CliRunner, Result

from shieldwall.cli.main import cli
from shieldwall.errors import EXIT_CHECK_FAILED, HubError
from shieldwall.governance import store
from shieldwall.governance.acts import Act, CharterChange
from shieldwall.governance.amend import amend, councillor_card, parse_card
from shieldwall.governance.charter import charter_digest
from shieldwall.governance.record import ActRecord, record_digest
from shieldwall.governance.signatures import sign_digest
from shieldwall.hub.admin import explain, join_hubs
from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.hub.governance_council import HubCouncil, version_for
from shieldwall.hub.ledger.storage import DecisionRecord, WriteGroup
from shieldwall.hub.server import HubServer
from shieldwall.signals.admitted import join_admitted, load_member_key, make_member_key
from shieldwall.signals.keys import new_seed
from shieldwall.signals.member_state import MemberState, load_member_state
from shieldwall.signals.request_signature import sign_request
from tests.integration.hub_harness import hub_context, init_hub, ledger_of, running_hub
from tests.integration.test_agent_hub import ATTACKER, Member, attack_lines, running, until

SECOND = "45.33.99.8"
THIRD = "45.33.99.9"


class Alliance:
    """A hub, a three-seat council founded and attached through the CLI, and its members."""

    def __init__(self, root: Path, *hub_args: str,
                 before: Callable[[HubConfig], object] = lambda config: None,
                 init_args: Sequence[str] = ()) -> None:
        self.root = root
        self.folder = root / "council"
        (root / "never-block.txt").write_text("192.0.2.0/24\n")
        # ``hub_args`` (e.g. --database) and ``before`` (run on the hub's files before the
        # council founds its policy on them) serve the PostgreSQL replicas' council tests.
        before(init_hub(root / "hub", "--never-block", str(root / "never-block.txt"), *hub_args))
        self.hub_dir = root / "hub"
        self.cards = {name: self.keygen(name) for name in ("alice", "bob", "carol")}
        cards = [arg for name in ("alice", "bob", "carol") for arg in ("--councillor", self.cards[name])]
        self.run("init", str(self.folder), "--key", self.key("alice"), "--alliance", "north-sea", *cards,
                 "--ordinary", "2", "--grave", "2", "--term-days", "30",
                 "--hub-identity", str(self.hub_dir / "identity.key"),
                 "--policy", str(self.hub_dir / "policy.toml"),
                 "--never-block", str(root / "never-block.txt"), *init_args)
        self.vote(["bob"])
        self.run("attach", str(self.folder), "--hub", str(self.hub_dir))
        self.config: HubConfig = load_hub_config(self.hub_dir)

    def run(self, *argv: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["council", *argv])
        assert result.exit_code == code, result.output
        return result

    def key(self, name: str) -> str:
        return str(self.root / f"{name}.key")

    def keygen(self, name: str) -> str:
        return self.run("keygen", self.key(name), "--name", name, "--alliance", "north-sea").output.strip()

    def proposal(self) -> str:
        (found,) = [p.name for p in (self.folder / "proposals").iterdir()]
        return found

    def open_ids(self) -> set[str]:
        root = self.folder / "proposals"
        return {p.name for p in root.iterdir()} if root.exists() else set()

    def vote(self, signers: list[str], pid: str | None = None) -> None:
        """Sign the open proposal ``pid`` (default: the only one) by ``signers``, publish it."""
        pid = pid or self.proposal()
        for name in signers:
            self.run("sign", str(self.folder), pid, "--key", self.key(name))
        self.run("publish", str(self.folder), pid)

    async def admit(self, name: str, addresses: Sequence[str] = (), chair: str = "alice",
                    second: str = "carol") -> MemberState:
        """Admit organisation ``name`` by a vote (alice proposes, carol signs) and join it as
        the admitted member, the way `shieldwall join --keygen` / `--key` do (under a council
        there are no invites). The hub must be running: it carries the act out."""
        key = self.root / f"{name}-member.key"
        public = make_member_key(key)
        before = self.open_ids()
        self.run("propose", "admit", str(self.folder), "--key", self.key(chair), "--member", name,
                 "--public-key", public)
        (pid,) = self.open_ids() - before
        self.vote([second], pid)
        hubs, pins = join_hubs(self.config)
        return await join_admitted(load_member_key(key), tuple(addresses) or hubs, pins,
                                   self.config.charter, self.root / name)

    async def members(self, *names: str, addresses: Sequence[str] = (), chair: str = "alice",
                      second: str = "carol") -> list[Member]:
        out = []
        for name in names:
            await self.admit(name, addresses, chair, second)
            log = self.root / f"{name}-auth.log"
            log.write_text("")
            out.append(Member(self.root / name, log))
        return out


def council_of(server: HubServer) -> HubCouncil:
    app: Any = server.config.app
    council: HubCouncil = app.state.council
    return council


def attack(member: Member, address: str) -> None:
    with member.log.open("a") as log:
        log.write(attack_lines(address, 5))


def notes(member: Member, event: str) -> list[dict[str, object]]:
    return [fields for name, fields in member.notes if name == event]


async def readyz(config: HubConfig) -> httpx.Response:
    cert = ssl.create_default_context(cafile=str(config.data_dir / "tls.crt"))
    async with httpx.AsyncClient(verify=cert) as http:
        return await http.get(f"https://{config.listen}/readyz")


async def signed_get(state: MemberState, target: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=state.base_url, verify=state.ssl_context()) as http:
        headers = sign_request(state.seed, state.key_id, "GET", target, time.time())
        return await http.get(target, headers=headers)


@pytest.fixture
def alliance(tmp_path: Path) -> Alliance:
    return Alliance(tmp_path)


async def test_a_policy_vote_with_k_minus_one_fails_and_with_k_takes_effect_on_the_hub_and_members(
        alliance: Alliance) -> None:
    policy = alliance.hub_dir / "policy.toml"
    async with running_hub(alliance.config) as server:
        a, b = await alliance.members("a", "b")
        assert (a.data_dir / "council.json").exists()  # the join token pinned the founding charter
        async with running(a), running(b):
            attack(a, ATTACKER)
            await until(lambda: ATTACKER in b.blocked())
            (block,) = [f for f in notes(b, "decision") if f["target"] == ATTACKER]
            assert notes(b, "council.standing")[0]["charter"] == 1
            first = council_of(server).version
            # The operator installs a new policy file before the vote: the hub stops deciding.
            policy.write_text(policy.read_text() + "\n# quorum raised after the vote\n")
            await until(lambda: council_of(server).problem() is not None)
            answer = await readyz(alliance.config)
            assert answer.status_code == 503 and "policy file" in answer.text
            attack(a, SECOND)
            await asyncio.sleep(1.0)
            assert SECOND not in b.blocked()
            # One signature (the chair's) does not carry it; two do.
            alliance.run("propose", "policy", str(alliance.folder), "--key", alliance.key("alice"),
                         "--file", str(policy))
            failed = alliance.run("publish", str(alliance.folder), alliance.proposal(), code=1)
            assert "1 of the 2 required" in failed.output
            alliance.vote(["carol"])
            await until(lambda: council_of(server).problem() is None)
            assert council_of(server).version != first
            # The queued signal is decided now, under the voted policy, and every member applies it.
            await until(lambda: SECOND in b.blocked(), timeout=30)
            await until(lambda: any(f["acts"] == 4 for f in notes(b, "council.standing")))  # a, b: 2, 3
        stored = b.runtime().store.active(time.time())
        # The rule version the member's signal named (shipped: scenario@digest).
        assert stored[SECOND].reason.startswith(f"charter v1, rule {block['scenario']}@")
        assert not notes(b, "decision.refused") and not notes(a, "council.refused")


async def test_decisions_under_a_policy_the_council_never_signed_are_refused_by_members(
        alliance: Alliance) -> None:
    async with running_hub(alliance.config) as server:
        a, b = await alliance.members("a", "b")
        async with running(a), running(b):
            attack(a, ATTACKER)
            await until(lambda: ATTACKER in b.blocked())
            signed = council_of(server).version
            # A hub deciding under an edited policy file (written straight into its log, as a
            # compromised hub would), then one more decision under the signed policy.
            edited = "v1:" + hashlib.sha256(b"edited behind the council's back").hexdigest()
            now = time.time()
            rows = [DecisionRecord("block", address, now + 600, "ssh-bruteforce", "a", now, policy=version)
                    for address, version in ((SECOND, edited), (THIRD, signed))]
            async with ledger_of(alliance.config) as ledger:
                await ledger.write(WriteGroup(decisions=rows))
            await until(lambda: THIRD in b.blocked() and THIRD in a.blocked(), timeout=20)
            assert SECOND not in b.blocked() and SECOND not in a.blocked()
            for member in (a, b):
                (refused,) = notes(member, "decision.refused")
                assert refused["target"] == SECOND and refused["reason"] == "unsigned-policy"
                assert "never signed" in str(refused["error"])
        listed = CliRunner().invoke(cli, ["blocks", "--data-dir", str(b.data_dir)])
        assert listed.exit_code == 0 and "charter v1, rule ssh-bruteforce" in listed.output
    async with ledger_of(alliance.config) as ledger:
        explained = await explain(ledger, alliance.config, THIRD, time.time())
    assert "charter v1, rule ssh-bruteforce" in explained.render(time.time())


async def test_a_never_block_vote_protects_its_addresses_once_the_hub_runs_the_voted_list(
        alliance: Alliance) -> None:
    listed = alliance.root / "never-block.txt"
    async with running_hub(alliance.config) as server:
        a, b = await alliance.members("a", "b")
        async with running(a), running(b):
            listed.write_text(listed.read_text() + f"{SECOND}/32\n")
            await until(lambda: "never-block" in (council_of(server).problem() or ""))
            alliance.run("propose", "never-block", str(alliance.folder), "--key", alliance.key("alice"),
                         "--file", str(listed))
            alliance.vote(["bob"])
            await until(lambda: council_of(server).problem() is None)
            attack(a, SECOND)  # now on the alliance's never-block list: nobody else blocks it
            attack(a, THIRD)
            await until(lambda: THIRD in b.blocked())
            await asyncio.sleep(0.5)
            assert SECOND not in b.blocked()


async def test_expulsion_by_vote_cuts_the_members_stream_and_key_at_once(alliance: Alliance) -> None:
    async with running_hub(alliance.config) as server:
        a, _ = await alliance.members("a", "b")
        (state_b,) = await alliance_states(alliance, "b")
        target = "/v1/decisions/stream"
        headers = sign_request(state_b.seed, state_b.key_id, "GET", target, time.time())
        # b's stream is held open by hand (not by an agent), so the test sees the hub end it.
        async with running(a), httpx.AsyncClient(base_url=state_b.base_url, verify=state_b.ssl_context(),
                                                 timeout=30.0) as http, http.stream(
                "GET", target, headers={**headers, "accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            await until(lambda: hub_context(server).feed.streams_of("b") == 1)
            alliance.run("propose", "expel", str(alliance.folder), "--key", alliance.key("alice"),
                         "--member", "b", "--note", "leaked key")
            alliance.vote(["carol"])
            received = b"".join([chunk async for chunk in stream.aiter_raw()])  # ends when the hub cuts it
            assert b"retry:" in received and hub_context(server).feed.streams_of("b") == 0
            refused = await signed_get(state_b, "/v1/decisions?after=0")
            assert refused.status_code == 401 and "revoked" in refused.text
            async with ledger_of(alliance.config) as ledger:
                (member,) = [m for m in await ledger.members() if m.name == "b"]
                (carried,) = await ledger.journal("council", key="4")  # a, b admitted: acts 2, 3
            assert not member.active and "council (act 4)" in member.revoked_why
            assert b"key of b revoked, its open streams ended" in carried.body
            attack(a, SECOND)  # the rest of the alliance carries on
            await until(lambda: SECOND in a.blocked())


async def test_an_organisation_admitted_by_vote_joins_and_enforces_the_next_decision(
        alliance: Alliance) -> None:
    async with running_hub(alliance.config):
        a, dave = await alliance.members("a", "dave-org")  # both by vote: acts 2 and 3
        async with ledger_of(alliance.config) as ledger:
            (carried,) = await ledger.journal("council", key="3")
            (joined,) = await ledger.journal("admitted-join", key="dave-org")
        assert b"key of dave-org registered" in carried.body and joined.body
        # What a token would have carried: the hub, its pin, the charter, for the council gate.
        assert (dave.data_dir / "council.json").exists() and (dave.data_dir / "member.json").exists()
        async with running(a), running(dave):
            attack(a, ATTACKER)
            await until(lambda: ATTACKER in dave.blocked())
        assert not notes(dave, "decision.refused") and not notes(dave, "council.refused")
        stored = dave.runtime().store.active(time.time())
        assert stored[ATTACKER].reason.startswith("charter v1, rule ")


def test_under_a_council_hub_invite_is_refused_pointing_to_the_admit_act(alliance: Alliance) -> None:
    refused = CliRunner().invoke(cli, ["hub", "invite", "--data", str(alliance.hub_dir), "--name", "x"])
    assert refused.exit_code != 0
    assert "council propose admit" in refused.output and "shieldwall join --keygen" in refused.output
    assert alliance.config.charter in refused.output  # the joiner's --charter, ready to copy


async def alliance_states(alliance: Alliance, *names: str) -> list[MemberState]:

    return [load_member_state(alliance.root / name) for name in names]


async def test_a_charter_rotation_replacing_one_key_reaches_every_member(alliance: Alliance) -> None:
    async with running_hub(alliance.config) as server:
        a, b = await alliance.members("a", "b")
        async with running(a), running(b):
            dave = alliance.keygen("dave")
            alliance.run("propose", "charter", str(alliance.folder), "--key", alliance.key("alice"),
                         "--remove", "carol", "--add", dave)
            alliance.vote(["bob", "dave"])
            await until(lambda: council_of(server).version.startswith("v2:"))
            attack(a, ATTACKER)
            await until(lambda: ATTACKER in b.blocked() and ATTACKER in a.blocked())
            for member in (a, b):
                assert any(f["charter"] == 2 for f in notes(member, "council.standing"))
        stored = b.runtime().store.active(time.time())
        assert stored[ATTACKER].reason.startswith("charter v2, rule ")


@pytest.mark.parametrize("hostile", ["rotation-without-the-old-council", "rolled-back-act-log",
                                     "checkpoint-signed-by-another-key"])
async def test_every_member_refuses_a_hostile_hubs_council_record(alliance: Alliance, hostile: str) -> None:
    alliance.run("propose", "wide-range", str(alliance.folder), "--key", alliance.key("alice"),
                 "--range", "198.51.100.0/22")
    alliance.vote(["bob"])
    async with running_hub(alliance.config) as server:
        a, b = await alliance.members("a", "b")
        async with running(a), running(b):
            await until(lambda: "198.51.100.0/22" in b.blocked() and "198.51.100.0/22" in a.blocked())
            council = council_of(server)
            records, standing = list(council.records), council.standing
            assert standing is not None and standing.state.trusted is not None
            # Simulated hostile hub (it edits the serving hub's memory, which no real hub does).
            if hostile == "rotation-without-the-old-council":
                outsiders = {n: new_seed() for n in ("mallory", "trent")}
                cards = [parse_card(councillor_card(s, "north-sea", n)) for n, s in outsiders.items()]
                old = standing.state.trusted.charter
                forged = amend(old, int(time.time()), add=cards, remove=["alice", "bob", "carol"][:2])
                act = Act("north-sea", standing.state.charter_hex, CharterChange(forged), "mallory",
                          int(time.time()))
                signatures = tuple(sign_digest(s, charter_digest(forged)) for s in outsiders.values())
                record = ActRecord(len(records) + 1, standing.state.head.hex(), int(time.time()), act,
                                   signatures)
                served = [*records, record]
                reason = "unsigned-by-old-council"
            elif hostile == "rolled-back-act-log":
                served = records[:1]
                reason = "rolled-back"
            else:
                served = records
                reason = "unknown-hub-key"
                council.seed, council._signed = new_seed(), None
            head = record_digest(served[-1])
            council.records = served
            council.standing = dataclasses.replace(
                standing, state=dataclasses.replace(standing.state, seq=len(served), head=head))
            attack(a, ATTACKER)
            await until(lambda: all(any(f["reason"] == reason for f in notes(m, "council.refused"))
                                    for m in (a, b)), timeout=20)
            await asyncio.sleep(0.5)
            assert ATTACKER not in b.blocked()  # nothing the hostile hub signed is applied
            assert "198.51.100.0/22" in b.blocked()  # what the member had stays enforced


def test_the_council_folder_a_hub_is_attached_to_is_pinned_in_hub_toml(alliance: Alliance) -> None:
    text = (alliance.hub_dir / "hub.toml").read_text()
    founding = store.read_records(alliance.folder)[0].act.effect
    assert isinstance(founding, CharterChange)
    assert f'charter = "{charter_digest(founding.charter).hex()}"' in text
    again = alliance.run("attach", str(alliance.folder), "--hub", str(alliance.hub_dir), code=2)
    assert "already names a council" in again.output
    assert msgspec.json.encode(str(alliance.folder.resolve())).decode() in text


def test_a_hub_whose_charter_expired_refuses_to_decide_until_its_successor_is_published(
        alliance: Alliance) -> None:
    founding = store.read_records(alliance.folder)[0].act.effect
    assert isinstance(founding, CharterChange)
    assert version_for(alliance.config, time.time()).startswith("v1:")
    with pytest.raises(HubError, match="expired"):
        version_for(alliance.config, founding.charter.expires)  # frozen: no successor reached it


async def test_a_burst_longer_than_the_members_waiting_bound_is_verified_whole(alliance: Alliance) -> None:
    async with running_hub(alliance.config) as server:
        (a,) = await alliance.members("a")
        async with running(a) as runtime:
            version, now = council_of(server).version, time.time()
            rows = [DecisionRecord("block", f"45.34.{i // 250}.{i % 250 + 1}", now + 600, "ssh-bruteforce",
                                   "b", now, policy=version) for i in range(6500)]
            async with ledger_of(alliance.config) as ledger:
                await ledger.write(WriteGroup(decisions=rows))
                head = await ledger.head()
            await until(lambda: runtime.core.cursor == head, timeout=60)
            assert len(a.blocked()) == 6500 and not notes(a, "decision.refused")


#: How long after the fixture founds the council its first chair's term ends (the charter's
#: rotation starts a 30-day term this much less than 30 days ago): long enough for the
#: three proposals below to be opened under alice, short enough for the test to wait.
HANDOVER_IN = 20.0


@pytest.fixture
def handover(tmp_path: Path) -> tuple[Alliance, float]:
    """An alliance whose first chair's (alice's) term ends HANDOVER_IN seconds from now."""
    boundary = int(time.time() + HANDOVER_IN)
    return Alliance(tmp_path, init_args=("--start", str(boundary - 30 * 86400))), float(boundary)


async def test_a_scheduled_handover_carries_three_partly_signed_proposals_to_the_next_chair(
        handover: tuple[Alliance, float]) -> None:
    alliance, boundary = handover
    folder = str(alliance.folder)
    ranges = ("198.51.100.0/22", "203.0.112.0/23", "2001:db8:100::/40")
    for wide in ranges:  # alice chairs: she opens each, and her signature is 1 of the 2 needed
        alliance.run("propose", "wide-range", folder, "--key", alliance.key("alice"), "--range", wide)
    opened = sorted(p.name for p in (alliance.folder / "proposals").iterdir())
    assert len(opened) == 3 and time.time() < boundary, "the fixture took longer than HANDOVER_IN"
    assert "chair: alice" in alliance.run("status", folder).output
    async with running_hub(alliance.config):
        await asyncio.sleep(max(0.0, boundary - time.time()) + 1.0)
        history = alliance.run("history", folder).output
        assert "chair alice -> bob (term)" in history
        assert "carries over 3 open proposal(s)" in history
        for pid in opened:
            assert pid in history
        # The old chair can no longer act as chair; the new one convenes.
        refused = alliance.run("propose", "wide-range", folder, "--key", alliance.key("alice"),
                               "--range", "198.51.104.0/22", code=EXIT_CHECK_FAILED)
        assert "only the chair (bob)" in refused.output
        a, b = await alliance.members("a", "b", chair="bob", second="carol")
        async with running(a), running(b):
            for pid in opened:  # bob completes each carried-over proposal with his signature
                status = alliance.run("status", folder, pid).output
                assert "1 of 2" in status and "alice" in status, status
                alliance.run("sign", folder, pid, "--key", alliance.key("bob"))
                alliance.run("publish", folder, pid)
            await until(lambda: set(ranges) <= a.blocked() and set(ranges) <= b.blocked(), timeout=30)
    assert not (alliance.folder / "proposals").exists() or not any(
        (alliance.folder / "proposals").iterdir())
    async with ledger_of(alliance.config) as ledger:
        blocks = [d for d in await ledger.decisions_after(0, 100) if d.target in ranges]
    assert sorted(d.target for d in blocks) == sorted(ranges)
    assert all(d.policy.startswith("v1:") for d in blocks)
    quiet_members = [notes(m, "council.refused") for m in (a, b)]
    assert quiet_members == [[], []]
