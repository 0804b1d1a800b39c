"""SIGTERM to a real `shieldwall hub serve` while members hold connections open.

The hub is made with the CLI (`hub init`, `hub invite`, `join`) and served as a
process started and stopped by PID. Members' decision streams are real
:class:`DecisionFollower` streams over HTTPS; like an agent between requests, the
members keep their connections (and an idle keep-alive one) without reading them
after the hub ends the stream, so they never answer the hub's TLS close_notify.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import HubError
from shieldwall.hub.identity import CERT_FILE
from shieldwall.signals.member_state import MemberState, load_member_state, pinned_context
from tests.integration.hub_harness import free_port

STREAMS = 3


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@dataclass
class ServedHub:
    process: subprocess.Popen[bytes]
    stderr: Path
    address: str
    member: MemberState

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")


@pytest.fixture
def served_hub(tmp_path: Path) -> Iterator[ServedHub]:
    data, address = tmp_path / "hub", f"127.0.0.1:{free_port()}"
    run("hub", "init", "--data", str(data), "--listen", address)
    token = run("hub", "invite", "--data", str(data), "--name", "web1").strip()
    stderr = tmp_path / "serve.stderr"
    with stderr.open("wb") as output:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "shieldwall.cli.main", "hub", "serve", "--data", str(data)],
            stdout=subprocess.DEVNULL, stderr=output,
        )
    try:
        context = pinned_context((data / CERT_FILE).read_text())
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "hub serve did not answer /healthz"
            try:
                if httpx.get(f"https://{address}/healthz", verify=context).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        run("join", token, "--data", str(tmp_path / "member"))
        yield ServedHub(process, stderr, address, load_member_state(tmp_path / "member"))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_sigterm_with_streams_connected_ends_the_hub_at_once_without_an_error(
    served_hub: ServedHub,
) -> None:
    followers = [DecisionFollower(served_hub.member) for _ in range(STREAMS)]
    context = pinned_context(served_hub.member.cert_pem)
    idle = httpx.AsyncClient(verify=context)  # a kept-alive connection nobody reads

    async def follow(follower: DecisionFollower) -> BaseException | None:
        try:
            async for _ in follower.stream():
                pass
        except Exception as exc:  # what the member's stream ended with
            return exc
        return None

    try:
        assert (await idle.get(f"https://{served_hub.address}/healthz")).status_code == 200
        streams = [asyncio.create_task(follow(f)) for f in followers]
        deadline = time.monotonic() + 10
        while not all(f.connected for f in followers):
            assert time.monotonic() < deadline, served_hub.log()
            await asyncio.sleep(0.02)

        served_hub.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(served_hub.process.wait, 15)
        ended = await asyncio.wait_for(asyncio.gather(*streams), 5)
    finally:
        await idle.aclose()
        for follower in followers:
            await follower.aclose()

    log = served_hub.log()
    # uvicorn ends the process with the SIGTERM it obeyed, as a terminated program does.
    assert code == -signal.SIGTERM, log
    # Ended streams, idle connections: nothing to wait for, so uvicorn's 1 s grace never
    # runs out (it logged "ERROR: Cancel 0 running task(s)" when it did).
    assert "ERROR" not in log and "Traceback" not in log, log
    assert "Application shutdown complete" in log, log
    # Each member got the stream's end, as before: it reconnects from its cursor.
    assert all(isinstance(exc, HubError) and "closed the decision stream" in str(exc)
               for exc in ended), ended
