"""Fuzz the live hub from its own OpenAPI document: no input may cause a 5xx.

Schemathesis generates requests, positive and negative (values outside the
schema's bounds included), for every operation. Most envelopes it makes are
re-signed with a real member key before sending, and every member request gets
the member's request signature, so the fuzzing reaches the checks behind the
signature (wire bounds, signal contents, addresses, sequence numbers) instead of
stopping at 401. It runs on both backends: a hub on SQLite and one on PostgreSQL
(the private cluster), each a real ``hub serve`` process.
The event stream is left out: it never ends by design. Bounded to a few dozen
examples per operation so it runs in seconds.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from shieldwall.hub.openapi import openapi_document
from shieldwall.signals.envelope import EnvelopeBody, seal_envelope
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request
from tests.integration.hub_harness import backend_hub, new_member
from tests.integration.pg_cluster import pg_cluster_fixture

document = openapi_document()
del document["paths"]["/v1/decisions/stream"]
schema = schemathesis.openapi.from_dict(document)
schema.config.generation.update(modes=list(GenerationMode))


class Hub:
    url = ""
    cert = ""
    member: MemberState | None = None


cluster = pg_cluster_fixture()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.root)])
def live_hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    base = tmp_path_factory.mktemp("fuzz")
    config = backend_hub(request, base / "hub")
    with (base / "hub.log").open("wb") as hub_log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "shieldwall.cli.main", "hub", "serve", "--data", str(base / "hub")],
            stdout=subprocess.DEVNULL, stderr=hub_log,
        )
    try:
        url = f"https://{config.listen}"
        cert = str(base / "hub" / "tls.crt")
        for _ in range(200):
            try:
                requests.get(url + "/healthz", verify=cert, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        Hub.url = url
        Hub.cert = cert  # the pinned certificate is the only trust anchor
        Hub.member = asyncio.run(new_member(config, base / "member", "fuzzer"))
        yield Hub()
        log = (base / "hub.log").read_text()
        assert "Traceback" not in log, log
    finally:
        proc.terminate()
        proc.wait(10)


def sign_member_requests(prepared: requests.PreparedRequest) -> requests.PreparedRequest:
    """requests auth hook: sign member requests with the member's key, as sent."""
    member = Hub.member
    if member is None or prepared.path_url.startswith("/v1/join"):
        return prepared
    body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    prepared.headers.update(sign_request(
        member.seed, member.key_id, prepared.method or "GET", prepared.path_url, time.time(), body
    ))
    return prepared


_seq = [0]


def resign(body: Any) -> Any:
    """Re-seal a generated envelope with the member's key when its fields allow it."""
    member = Hub.member
    if member is None or not isinstance(body, dict):
        return body
    try:
        parsed = msgspec.convert({k: body.get(k) for k in ("key_id", "seq", "ts", "signals")},
                                 EnvelopeBody)
    except (msgspec.ValidationError, TypeError):
        return body
    _seq[0] += 1
    ts = time.time() if _seq[0] % 5 else parsed.ts  # mostly fresh, sometimes the fuzzed time
    return msgspec.json.decode(seal_envelope(
        member.seed, member.key_id, 10_000_000 + _seq[0], ts, list(parsed.signals)
    ))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_hub_fail(case: schemathesis.Case, live_hub: Hub) -> None:
    session = requests.Session()
    session.auth = sign_member_requests
    if case.path == "/v1/signals" and case.body is not None:
        case.body = resign(case.body)
    if case.path == "/v1/leave":
        return  # leaving would revoke the fuzzing member; covered in test_hub_api
    response = case.call(base_url=live_hub.url, session=session, timeout=10, verify=live_hub.cert)
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500
