"""The bouncer API over HTTP, with pycrowdsec 0.0.5's real stream and query clients.

pycrowdsec comes from PyPI (a test dependency); its clients block, so the app
runs in a thread (see harness.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
from pycrowdsec import client as pycrowdsec_client  # a test dependency: pyproject's [test]

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.store import BlockStore
from shieldwall.interop.crowdsec.bouncer_api import create_bouncer_app
from shieldwall.interop.crowdsec.journal import Journal

from .harness import serving

FW_AGENT = "crowdsec-firewall-bouncer/-"


class Member:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.store = BlockStore.open(data_dir)
        journal = Journal.open(data_dir)
        self.key = journal.add_bouncer("web", time.time())
        self.fw_key = journal.add_bouncer("fw", time.time())
        journal.close()

    def ban(self, target: str, seconds: float = 3600, scenario: str = "ssh-bruteforce") -> None:
        now = time.time()
        self.store.put([Block(target, now + seconds, "hub", scenario, created=now)])

    def lift(self, target: str) -> None:
        self.store.remove([target])


@pytest.fixture
def member(tmp_path: Path) -> Member:
    return Member(tmp_path)


@pytest.fixture
def lapi(member: Member) -> Iterator[str]:
    with serving(create_bouncer_app(member.data_dir, prefix="/crowdsec")) as base:
        yield base + "/crowdsec/"


def stream_client(lapi: str, key: str) -> pycrowdsec_client.StreamClient:
    return pycrowdsec_client.StreamClient(key, lapi_url=lapi, interval=1)


def test_pycrowdsec_stream_sees_bans_ranges_and_lifts(member: Member, lapi: str) -> None:
    member.ban("203.0.113.7")
    member.ban("198.51.100.0/24", scenario="http-probing")
    client = stream_client(lapi, member.key)
    client.cycle("true")
    assert client.get_current_decisions() == {"203.0.113.7/32": "ban", "198.51.100.0/24": "ban"}
    assert client.get_action_for("198.51.100.9") == "ban"
    assert client.get_action_for("192.0.2.1") is None

    member.ban("2001:db8::/64")
    member.lift("203.0.113.7")
    client.cycle("false")
    assert client.get_current_decisions() == {"198.51.100.0/24": "ban", "2001:db8::/64": "ban"}
    assert client.get_action_for("2001:db8::99") == "ban"


def test_pycrowdsec_query_client_agrees_with_the_stream(member: Member, lapi: str) -> None:
    member.ban("203.0.113.7")
    member.ban("198.51.100.0/24")
    stream = stream_client(lapi, member.key)
    stream.cycle("true")
    query = pycrowdsec_client.QueryClient(member.key, lapi_url=lapi)
    for address in ("203.0.113.7", "198.51.100.9", "198.51.100.0"):
        assert query.get_action_for(address) == stream.get_action_for(address) == "ban"
    found = query.get_decisions_for("198.51.100.9")
    assert [(d["scope"], d["value"], d["type"], d["origin"]) for d in found] == [
        ("Range", "198.51.100.0/24", "ban", "hub")]
    # A clean address is answered `null`, as CrowdSec does (pycrowdsec's
    # get_action_for then fails with TypeError: its bug, kept for fidelity).
    assert query.get_decisions_for("192.0.2.1") is None
    assert stream.get_action_for("192.0.2.1") is None


def test_a_wrong_or_missing_key_is_forbidden_as_crowdsec_answers(member: Member, lapi: str) -> None:
    for headers in ({}, {"X-Api-Key": "not-a-key"}, {"X-Api-Key": "k" * 100_00}):
        for path in ("v1/decisions/stream?startup=true", "v1/decisions?ip=192.0.2.1"):
            response = httpx.get(lapi + path, headers=headers)
            assert (response.status_code, response.json()) == (403, {"message": "access forbidden"})
    with pytest.raises(requests.HTTPError):
        stream_client(lapi, "wrong").cycle("true")


def test_head_never_moves_a_cursor(member: Member, lapi: str) -> None:
    headers = {"X-Api-Key": member.key}
    httpx.get(lapi + "v1/decisions/stream?startup=true", headers=headers)
    member.ban("203.0.113.7")
    for _ in range(3):
        head = httpx.head(lapi + "v1/decisions/stream", headers=headers)
        assert (head.status_code, head.content) == (200, b"")
    body = httpx.get(lapi + "v1/decisions/stream", headers=headers).json()
    assert [d["value"] for d in body["new"]] == ["203.0.113.7"]
    assert httpx.head(lapi + "v1/decisions?ip=203.0.113.7", headers=headers).status_code == 200
    assert httpx.head(lapi + "v1/decisions/stream", headers={}).status_code == 403


def test_the_firewall_bouncer_is_not_sent_ranges_and_the_count_is_kept(
    member: Member, lapi: str
) -> None:
    member.ban("203.0.113.7")
    member.ban("198.51.100.0/24")
    headers = {"X-Api-Key": member.fw_key, "User-Agent": FW_AGENT}
    body = httpx.get(lapi + "v1/decisions/stream?startup=true", headers=headers).json()
    assert [d["value"] for d in body["new"]] == ["203.0.113.7"]
    assert body["deleted"] is None
    listed = {b.name: b for b in Journal.open(member.data_dir).bouncers()}
    assert (listed["fw"].withheld, listed["fw"].user_agent) == (1, FW_AGENT)


def test_stream_fields_and_types_are_crowdsecs(member: Member, lapi: str) -> None:
    member.ban("203.0.113.7", seconds=14400)
    body = httpx.get(lapi + "v1/decisions/stream?startup=true&community_pull=false",
                     headers={"X-Api-Key": member.key}).json()
    (decision,) = body["new"]
    assert isinstance(decision["id"], int)
    assert {k: decision[k] for k in ("origin", "type", "scope", "value", "scenario")} == {
        "origin": "hub", "type": "ban", "scope": "Ip", "value": "203.0.113.7",
        "scenario": "ssh-bruteforce"}
    assert decision["duration"].startswith(("3h59m", "4h0m"))


def test_a_restart_of_the_member_between_pulls_gives_no_gap_and_no_duplicate(
    member: Member,
) -> None:
    headers = {"X-Api-Key": member.key}
    app = create_bouncer_app(member.data_dir)
    with serving(app) as base:
        httpx.get(base + "/v1/decisions/stream?startup=true", headers=headers)
        member.ban("203.0.113.7")
        first = httpx.get(base + "/v1/decisions/stream", headers=headers).json()
    member.ban("203.0.113.8")
    member.lift("203.0.113.7")
    with serving(create_bouncer_app(member.data_dir)) as base:
        second = httpx.get(base + "/v1/decisions/stream", headers=headers).json()
        third = httpx.get(base + "/v1/decisions/stream", headers=headers).json()
    assert [d["value"] for d in first["new"]] == ["203.0.113.7"]
    assert [d["value"] for d in second["new"]] == ["203.0.113.8"]
    assert [d["value"] for d in second["deleted"]] == ["203.0.113.7"]
    assert third == {"new": None, "deleted": None}


def test_bad_parameters_get_400_and_health_needs_no_key(member: Member, lapi: str) -> None:
    headers = {"X-Api-Key": member.key}
    assert httpx.get(lapi + "v1/decisions?ip=not-an-ip", headers=headers).status_code == 400
    assert httpx.get(lapi + "v1/decisions/stream?startup=maybe", headers=headers).status_code == 400
    assert httpx.get(lapi + "health").json() == {"status": "up"}
    metrics = httpx.post(lapi + "v1/usage-metrics", headers=headers, json={"remediation": []})
    assert metrics.status_code == 201
