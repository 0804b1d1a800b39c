"""The council on a hub run as PostgreSQL replicas, with real agents over HTTPS on loopback.

Real parts: a private PostgreSQL cluster, two ``shieldwall hub serve`` replica processes
on one data folder (the first leads) attached to a council founded through the
`shieldwall council` CLI, members admitted by vote and joined naming both replicas, real agent
runtimes following and verifying the stream (in-memory enforcers: nftables is covered by
tests/e2e/test_alliance.py). The leader is killed with SIGKILL by PID; a compromised
leader is played by writing into the shared log under the leader's epoch, and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import httpx
import pytest

from shieldwall.governance.checkpoint import SignedCheckpoint, decode_checkpoint
from shieldwall.hub.ledger.postgres.ledger import PostgresLedger
from shieldwall.hub.ledger.storage import DecisionRecord, WriteGroup
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from tests.e2e.test_council import SECOND, THIRD, Alliance, attack, notes
from tests.integration.hub_harness import free_port
from tests.integration.hub_processes import ReplicaSet, replica_set, without_trust
from tests.integration.pg_cluster import PgCluster, pg_cluster_fixture
from tests.integration.test_agent_hub import ATTACKER, Member, running, until

pytestmark = pytest.mark.root
cluster = pg_cluster_fixture()


@pytest.fixture
def alliance(cluster: PgCluster, tmp_path: Path) -> Alliance:
    # Trust off before the council signs the policy: a member that joined a moment ago is
    # on probation until the leader reloads its members (see hub_processes.without_trust).
    return Alliance(tmp_path, "--database", cluster.new_database(), before=without_trust)


async def joined(alliance: Alliance, listens: list[str], *names: str) -> list[tuple[Member, MemberState]]:
    out = []
    for name in names:
        state = await alliance.admit(name, listens)  # by vote: under a council there are no invites
        log = alliance.root / f"{name}-auth.log"
        log.write_text("")
        out.append((Member(alliance.root / name, log), state))
    return out


async def checkpoint_at(state: MemberState, listen: str) -> SignedCheckpoint:
    """The replica's signed checkpoint, asked as a member asks (a signed request)."""
    target = "/v1/council/checkpoint"
    async with httpx.AsyncClient(base_url=f"https://{listen}", verify=state.ssl_context()) as http:
        answer = await http.get(target, headers=sign_request(state.seed, state.key_id, "GET", target,
                                                             time.time()))
    assert answer.status_code == 200, answer.text
    return decode_checkpoint(answer.content)


def readyz(replicas: ReplicaSet, listen: str) -> httpx.Response:
    return httpx.get(f"https://{listen}/readyz", verify=replicas.context(), timeout=5.0)


def quiet(*members: Member) -> None:
    for member in members:
        for event in ("decision.refused", "council.refused", "council.incident"):
            assert not notes(member, event), (event, notes(member, event))


async def test_a_member_whose_replica_is_killed_keeps_applying_verified_decisions_from_another(
        alliance: Alliance) -> None:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with replica_set(alliance.config, listens) as replicas:
        first, second = replicas.replicas
        assert replicas.leader() is first
        (a, state), (b, _) = await joined(alliance, listens, "a", "b")
        async with running(a), running(b) as follows:
            attack(a, ATTACKER)
            await until(lambda: ATTACKER in b.blocked() and ATTACKER in a.blocked(), timeout=30)
            assert notes(b, "council.standing")[0]["charter"] == 1
            # Both replicas sign the same chain over the shared log with the one hub key.
            on_first, on_second = await checkpoint_at(state, first.listen), await checkpoint_at(
                state, second.listen)
            assert on_first.checkpoint.cursor == on_second.checkpoint.cursor >= 1
            assert on_first.checkpoint.chain == on_second.checkpoint.chain
            assert on_first.signature.key_id == on_second.signature.key_id
            first.kill()  # the leader, and the replica both members follow
            attack(a, SECOND)
            await until(lambda: SECOND in b.blocked() and SECOND in a.blocked(), timeout=60)
            moved = follows.follower
            assert moved is not None and getattr(moved, "hub", None) == second.listen
            after = await checkpoint_at(state, second.listen)
            assert after.checkpoint.cursor > on_second.checkpoint.cursor
        stored = b.runtime().store.active(time.time())
        assert stored[SECOND].reason.startswith("charter v1, rule ")
    quiet(a, b)


async def test_a_policy_edited_behind_the_councils_back_is_refused_on_every_replica_and_member(
        alliance: Alliance) -> None:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    policy = alliance.hub_dir / "policy.toml"
    signed_text = policy.read_bytes()
    with replica_set(alliance.config, listens) as replicas:
        first, second = replicas.replicas
        (a, _), (b, _) = await joined(alliance, listens, "a", "b")
        async with running(a), running(b):
            attack(a, ATTACKER)
            await until(lambda: ATTACKER in b.blocked(), timeout=30)
            # The operator edits the shared policy file: no replica decides under it.
            policy.write_bytes(signed_text + b"\n# edited behind the council's back\n")
            for listen in (first.listen, second.listen):
                await until(lambda: readyz(replicas, listen).status_code == 503, timeout=20)  # noqa: B023
                assert "policy file" in readyz(replicas, listen).text
            attack(a, SECOND)
            await asyncio.sleep(1.5)  # the signal reaches the replicas, which refuse to decide
            assert SECOND not in b.blocked()
            policy.write_bytes(signed_text)  # the council's file again: the queued signal is decided
            await until(lambda: SECOND in b.blocked(), timeout=30)
            # A compromised leader writes a decision stamped with an edited policy into the
            # shared log (under its own epoch), then one under the signed policy.
            leading = replicas.ready(first) or {}
            epoch = int(str(leading["epoch"]))
            ledger = PostgresLedger(alliance.config.database)
            await ledger.open()
            try:
                head = await ledger.head()
                (signed,) = {d.policy for d in await ledger.decisions_after(head - 1, 1)}
                edited = "v1:" + hashlib.sha256(b"edited behind the council's back").hexdigest()
                now = time.time()
                ledger.epoch = epoch
                await ledger.write(WriteGroup(decisions=[
                    DecisionRecord("block", address, now + 600, "ssh-bruteforce", "a", now, policy=version)
                    for address, version in (("45.33.99.10", edited), (THIRD, signed))]))
            finally:
                await ledger.close()
            await until(lambda: THIRD in b.blocked() and THIRD in a.blocked(), timeout=30)
            assert "45.33.99.10" not in b.blocked() | a.blocked()
            for member in (a, b):
                (refused,) = notes(member, "decision.refused")
                assert refused["target"] == "45.33.99.10" and refused["reason"] == "unsigned-policy"


async def test_an_expulsion_is_carried_out_once_by_the_leader_and_ends_the_members_stream_on_a_follower(
        alliance: Alliance) -> None:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    with replica_set(alliance.config, listens) as replicas:
        first, second = replicas.replicas
        assert replicas.leader() is first
        (a, _), (_, state_b) = await joined(alliance, listens, "a", "b")
        target = "/v1/decisions/stream"
        headers = sign_request(state_b.seed, state_b.key_id, "GET", target, time.time())
        # b's stream is held open by hand on the follower, so the test sees that replica end it.
        async with running(a), httpx.AsyncClient(base_url=f"https://{second.listen}",
                                                 verify=state_b.ssl_context(), timeout=30.0) as http, \
                http.stream("GET", target, headers={**headers, "accept": "text/event-stream"}) as stream:
            assert stream.status_code == 200
            alliance.run("propose", "expel", str(alliance.folder), "--key", alliance.key("alice"),
                         "--member", "b", "--note", "leaked key")
            alliance.vote(["carol"])
            received = b"".join([chunk async for chunk in stream.aiter_raw()])  # ends when cut
            assert b"retry:" in received
            attack(a, SECOND)  # the rest of the alliance carries on
            await until(lambda: SECOND in a.blocked(), timeout=30)
        ledger = PostgresLedger(alliance.config.database)
        await ledger.open()
        try:
            (member,) = [m for m in await ledger.members() if m.name == "b"]
            carried = await ledger.journal("council", key="4")  # a, b admitted: acts 2, 3
        finally:
            await ledger.close()
        assert not member.active and "council (act 4)" in member.revoked_why
        assert len(carried) == 1 and b"key of b revoked" in carried[0].body  # by the leader alone
    quiet(a)


async def test_a_wide_range_vote_is_blocked_once_and_verified_by_members_of_either_replica(
        alliance: Alliance) -> None:
    listens = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    wide = "198.51.100.0/22"
    with replica_set(alliance.config, listens) as replicas:
        first, second = replicas.replicas
        assert replicas.leader() is first
        (a, _), = await joined(alliance, listens, "a")
        (b, _), = await joined(alliance, listens[::-1], "b")  # b follows the follower replica
        async with running(a), running(b) as on_follower:
            alliance.run("propose", "wide-range", str(alliance.folder), "--key", alliance.key("alice"),
                         "--range", wide)
            alliance.vote(["bob"])
            await until(lambda: wide in a.blocked() and wide in b.blocked(), timeout=30)
            assert getattr(on_follower.follower, "hub", None) == second.listen
        ledger = PostgresLedger(alliance.config.database)
        await ledger.open()
        try:
            blocks = [d for d in await ledger.decisions_after(0, 100) if d.target == wide]
            carried = await ledger.journal("council", key="4")  # a, b admitted: acts 2, 3
        finally:
            await ledger.close()
        assert len(blocks) == 1 and blocks[0].policy.startswith("v1:") and len(carried) == 1
    quiet(a, b)
