"""`shieldwall join` for a member the council admitted: --keygen, then --key with the hub's
address, pin and founding charter, against a real hub under a council (a thread serves it)."""

from __future__ import annotations

import asyncio
import contextlib
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.hub.admin import join_hubs
from shieldwall.signals.member_state import load_member_state
from tests.e2e.test_council import Alliance
from tests.integration.hub_harness import running_hub


@contextlib.contextmanager
def serving(alliance: Alliance) -> Iterator[None]:
    """The alliance's hub served on a thread of its own (the CLI runs its own event loop)."""
    started, stop = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    async def serve() -> None:
        async with running_hub(alliance.config):
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # surfaced below, not lost with the thread
            failed.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="hub")
    thread.start()
    started.wait(30)
    try:
        assert not failed, failed
        yield
    finally:
        stop.set()
        thread.join(30)


def join(*argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["join", *argv])
    return result.exit_code, result.output


def test_keygen_writes_a_private_key_once_and_prints_its_public_key(tmp_path: Path) -> None:
    code, output = join("--keygen", str(tmp_path / "m.key"))
    assert code == 0 and len(output.splitlines()[0]) == 64
    assert "council propose admit" in output
    assert stat.S_IMODE((tmp_path / "m.key").stat().st_mode) == 0o600
    code, output = join("--keygen", str(tmp_path / "m.key"))
    assert code != 0 and "never overwritten" in output


def test_join_says_what_it_needs(tmp_path: Path) -> None:
    code, output = join()
    assert code != 0 and "--keygen" in output
    code, output = join("--key", str(tmp_path / "m.key"))
    assert code != 0 and "--hub, --pin and --charter" in output
    code, output = join("--key", "k", "--hub", "127.0.0.1:1", "--pin", "0" * 64, "--charter", "0" * 64,
                        "--owns", "192.0.2.1")
    assert code != 0 and "--owns CIDR" in output


def test_an_admitted_organisation_joins_with_its_key_and_a_wrong_charter_or_pin_writes_nothing(
        tmp_path: Path) -> None:
    alliance = Alliance(tmp_path)
    key = tmp_path / "dave.key"
    _, output = join("--keygen", str(key))
    public = output.splitlines()[0]
    (address,), (pin,) = join_hubs(alliance.config)
    with serving(alliance):
        alliance.run("propose", "admit", str(alliance.folder), "--key", alliance.key("alice"),
                     "--member", "dave-org", "--public-key", public)
        alliance.vote(["carol"])
        wrong = tmp_path / "wrong"
        code, output = join("--key", str(key), "--hub", address, "--pin", pin, "--charter", "e" * 64,
                            "--data", str(wrong))
        assert code != 0 and "wrong-charter" in output and not (wrong / "member.json").exists()
        code, output = join("--key", str(key), "--hub", address, "--pin", "f" * 64,
                            "--charter", alliance.config.charter, "--data", str(wrong))
        assert code != 0 and "does not match" in output and not (wrong / "member.json").exists()
        member = tmp_path / "dave"
        code, output = join("--key", str(key), "--hub", address, "--pin", pin,
                            "--charter", alliance.config.charter, "--data", str(member))
        assert code == 0, output
        assert "as dave-org" in output
    state = load_member_state(member)
    assert state.name == "dave-org" and state.hub == address and state.fingerprint == pin
    assert (member / "council.json").exists()
