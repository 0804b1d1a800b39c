"""Debian's crowdsec-firewall-bouncer 0.0.25 enforcing an alliance's decisions in nftables.

Real parts: the hub over HTTPS, member A's agent following it, ``shieldwall
bouncer serve`` and the packaged bouncer binary, both inside a network namespace
this test creates (the bouncer only ever touches that namespace's nftables),
configured by ``shieldwall bouncer setup firewall`` over the packaged YAML.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.store import BlockStore
from shieldwall.hub.admin import lift
from shieldwall.hub.config import HubConfig
from shieldwall.interop.crowdsec.firewall_setup import CONFIG_LOCAL
from shieldwall.interop.crowdsec.journal import Journal
from shieldwall.signals.client import HubClient
from shieldwall.signals.signal import Signal
from tests.conftest import require_root
from tests.integration.hub_harness import init_hub, ledger_of, new_member, running_hub

from .members import RunningMember, running, until

pytestmark = pytest.mark.root

PACKAGED = Path("/etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml")
ATTACKER = "45.33.99.7"
RANGE = "45.33.100.0/24"
PORT = 8081
EVERY = 1.0


def netns_exec(ns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


@pytest.fixture
def netns() -> Iterator[str]:
    require_root("ip", "nft", "crowdsec-firewall-bouncer")
    if not PACKAGED.exists():
        pytest.skip(f"{PACKAGED} missing: apt-get install crowdsec-firewall-bouncer")
    name = f"swcs{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(netns_exec(name, "ip", "link", "set", "lo", "up"), check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def bouncer_config(tmp: Path, member_dir: Path, url: str) -> Path:
    """The packaged YAML with its files moved under ``tmp``, plus what `setup firewall` writes."""
    etc = tmp / "etc"
    config = etc / "crowdsec/bouncers/crowdsec-firewall-bouncer.yaml"
    config.parent.mkdir(parents=True)
    text = PACKAGED.read_text()
    for old, new in (("pid_dir: /var/run/", f"pid_dir: {tmp}/"),
                     ("log_dir: /var/log/", f"log_dir: {tmp}/"),
                     ("prometheus:\n  enabled: true", "prometheus:\n  enabled: false")):
        assert old in text, f"packaged config changed: {old!r} not found"
        text = text.replace(old, new)
    config.write_text(text)
    result = CliRunner().invoke(cli, [
        "bouncer", "setup", "firewall", "--data-dir", str(member_dir), "--etc", str(etc),
        "--url", url, "--every", f"{EVERY:g}s"])
    assert result.exit_code == 0, result.output
    assert (etc / CONFIG_LOCAL).exists()
    return config


async def nft_set(ns: str, family: str, table: str, name: str) -> set[str] | None:
    """The elements of one nft set in ``ns`` (``None`` while the table does not exist)."""
    proc = await asyncio.create_subprocess_exec(
        *netns_exec(ns, "nft", "-j", "list", "set", family, table, name),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        return None
    found: set[str] = set()
    for item in json.loads(out)["nftables"]:
        for elem in item.get("set", {}).get("elem", []):
            value = elem["elem"]["val"] if isinstance(elem, dict) and "elem" in elem else elem
            if isinstance(value, dict) and "prefix" in value:
                value = f"{value['prefix']['addr']}/{value['prefix']['len']}"
            found.add(str(value))
    return found


async def nft_timeouts(ns: str) -> dict[str, int]:
    """Each element of the bouncer's IPv4 set with its timeout in seconds."""
    proc = await asyncio.create_subprocess_exec(
        *netns_exec(ns, "nft", "-j", "list", "set", "ip", "crowdsec", "crowdsec-blacklists"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        return {}
    found: dict[str, int] = {}
    for item in json.loads(out)["nftables"]:
        for elem in item.get("set", {}).get("elem", []):
            if isinstance(elem, dict) and "elem" in elem:
                found[str(elem["elem"]["val"])] = int(elem["elem"].get("timeout", 0))
    return found


class Poller:
    """Samples the bouncer's IPv4 set as fast as nft answers, remembering every value seen."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.current: set[str] | None = None
        self.ever: set[str] = set()
        self.first_seen: dict[str, float] = {}
        self.gone_at: dict[str, float] = {}

    async def run(self) -> None:
        while True:
            current = await nft_set(self.ns, "ip", "crowdsec", "crowdsec-blacklists")
            now = time.time()
            if current is not None:
                for value in current - self.ever:
                    self.first_seen[value] = now
                for value in (self.current or set()) - current:
                    self.gone_at[value] = now
                self.ever |= current
            self.current = current
            await asyncio.sleep(0.05)


async def spawn(*argv: str, log: Path) -> asyncio.subprocess.Process:
    # The child keeps its own descriptor; ours is closed at once (no ResourceWarning).
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(*argv, stdout=out, stderr=subprocess.STDOUT)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def listening(ns: str, port: int) -> bool:
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)"
    proc = await asyncio.create_subprocess_exec(
        *netns_exec(ns, sys.executable, "-c", probe),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return await proc.wait() == 0


async def start_api(ns: str, member_dir: Path, log: Path) -> asyncio.subprocess.Process:
    """``shieldwall bouncer serve`` in the namespace, once it accepts connections."""
    api = await spawn(*netns_exec(ns, sys.executable, "-m", "shieldwall.cli.main", "bouncer",
                                  "serve", "--data-dir", str(member_dir),
                                  "--listen", f"127.0.0.1:{PORT}"), log=log)
    deadline = time.monotonic() + 30
    while not await listening(ns, PORT):
        assert api.returncode is None, log.read_text()
        assert time.monotonic() < deadline, "bouncer API did not start"
        await asyncio.sleep(0.2)
    return api


@pytest.fixture
async def bouncer_api(netns: str, tmp_path: Path) -> AsyncIterator[Path]:
    """The bouncer API in the namespace, over member A's data directory."""
    member_dir = tmp_path / "a"
    member_dir.mkdir()
    api = await start_api(netns, member_dir, tmp_path / "bouncer-api.log")
    try:
        yield member_dir
    finally:
        await stop(api)


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    # Synchronous: `hub init` runs its own event loop.
    return init_hub(tmp_path / "hub")


async def test_hub_decisions_reach_the_bouncers_nft_set_and_ranges_are_never_truncated(
    netns: str, bouncer_api: Path, hub_config: HubConfig, tmp_path: Path
) -> None:
    member_dir = bouncer_api
    config = bouncer_config(tmp_path, member_dir, f"http://127.0.0.1:{PORT}/")
    async with running_hub(hub_config):
        await new_member(hub_config, member_dir, "a")
        other = await new_member(hub_config, tmp_path / "b", "b")
        member = RunningMember(member_dir)
        bouncer = await spawn(*netns_exec(netns, shutil.which("crowdsec-firewall-bouncer") or "",
                                          "-c", str(config)), log=tmp_path / "fw.log")
        poller = Poller(netns)
        sampling = asyncio.create_task(poller.run())
        try:
            async with running(member):
                await until(lambda: poller.current is not None, what="bouncer created its set")
                async with HubClient(other) as hub:
                    await hub.send([Signal(kind="detection", target=ATTACKER,
                                           scenario="ssh-bruteforce", count=6),
                                    Signal(kind="ban", target=RANGE, scenario="manual",
                                           duration=3600)])
                await until(lambda: member.noted("block.applied", ATTACKER) is not None
                            and member.noted("block.applied", RANGE) is not None,
                            what="member A holds both blocks")
                await until(lambda: ATTACKER in poller.ever, what="address in the nft set")
                reached = member.noted("block.applied", ATTACKER) or 0.0
                pickup = poller.first_seen[ATTACKER] - reached

                # The range was served (the bouncer's cursor passed it): withheld, not truncated.
                def range_served() -> bool:
                    journal = Journal.open(member_dir)
                    entry = journal.live.get(RANGE)
                    fw = {b.name: b for b in journal.bouncers()}["firewall"]
                    return entry is not None and fw.cursor >= entry.id and fw.withheld == 1
                await until(range_served, what="range journaled and passed by the bouncer")
                await asyncio.sleep(2 * EVERY)  # two more pulls
                assert "45.33.100.0" not in poller.ever and RANGE not in poller.ever

                async with ledger_of(hub_config) as ledger:
                    await lift(ledger, hub_config, ATTACKER, time.time())
                await until(lambda: member.noted("block.lifted", ATTACKER) is not None,
                            what="member A lifted the block")
                await until(lambda: poller.current is not None and ATTACKER not in poller.current,
                            what="lift removed the address from the nft set")
                lifted = (member.noted("block.lifted", ATTACKER) or 0.0)
                removal = poller.gone_at[ATTACKER] - lifted
        finally:
            sampling.cancel()
            await stop(bouncer)
    print(f"\nfirewall bouncer pickup: {pickup:.3f}s after the block reached member A; "
          f"lift removed after {removal:.3f}s (update_frequency {EVERY:g}s)")
    assert "45.33.100.0" not in poller.ever
    assert bouncer.returncode is not None


async def test_the_bouncer_gives_up_with_status_0_when_its_first_pull_fails(
    netns: str, tmp_path: Path
) -> None:
    # Why `setup firewall` writes a Restart=always drop-in: this exit looks like success.
    member_dir = tmp_path / "a"
    config = bouncer_config(tmp_path, member_dir, f"http://127.0.0.1:{PORT + 1}/")
    bouncer = await spawn(*netns_exec(netns, "crowdsec-firewall-bouncer", "-c", str(config)),
                          log=tmp_path / "fw.log")
    try:
        code = await asyncio.wait_for(bouncer.wait(), 60)
    finally:
        await stop(bouncer)
    assert code == 0, (tmp_path / "fw.log").read_text()


async def test_an_extended_block_gets_its_new_timeout_in_the_bouncers_set(
    netns: str, bouncer_api: Path, tmp_path: Path
) -> None:
    # Re-adding an element keeps its old nft timeout: the extension must replace it.
    member_dir = bouncer_api
    store = BlockStore.open(member_dir)
    now = time.time()
    store.put([Block(ATTACKER, now + 120, "operator", "manual", created=now)])
    config = bouncer_config(tmp_path, member_dir, f"http://127.0.0.1:{PORT}/")
    bouncer = await spawn(*netns_exec(netns, "crowdsec-firewall-bouncer", "-c", str(config)),
                          log=tmp_path / "fw.log")
    timeouts: dict[str, int] = {}

    async def sample() -> None:
        while True:
            timeouts.update(await nft_timeouts(netns))
            await asyncio.sleep(0.05)

    sampling = asyncio.create_task(sample())
    try:
        await until(lambda: 0 < timeouts.get(ATTACKER, 0) <= 120, what="first timeout in nft")
        store.put([Block(ATTACKER, time.time() + 7200, "operator", "manual", created=now)])
        await until(lambda: timeouts.get(ATTACKER, 0) > 7000, what="extended timeout in nft")
    finally:
        sampling.cancel()
        await stop(bouncer)


async def test_restarting_either_side_leaves_the_set_exactly_the_active_blocks(
    netns: str, tmp_path: Path
) -> None:
    member_dir = tmp_path / "a"
    store = BlockStore.open(member_dir)
    now = time.time()

    def ban(*targets: str) -> None:
        store.put([Block(t, now + 3600, "operator", "manual", created=now) for t in targets])

    ban("45.33.1.1", "45.33.1.2")
    config = bouncer_config(tmp_path, member_dir, f"http://127.0.0.1:{PORT}/")
    api = await start_api(netns, member_dir, tmp_path / "api-1.log")
    bouncer = await spawn(*netns_exec(netns, "crowdsec-firewall-bouncer", "-c", str(config)),
                          log=tmp_path / "fw-1.log")
    poller = Poller(netns)
    sampling = asyncio.create_task(poller.run())
    try:
        await until(lambda: poller.current == {"45.33.1.1", "45.33.1.2"}, what="first pull")
        # The member's bouncer API restarts; meanwhile a ban and a lift.
        await stop(api)
        ban("45.33.1.3")
        store.remove(["45.33.1.1"])
        await asyncio.sleep(2 * EVERY)  # the bouncer keeps polling a closed port
        api = await start_api(netns, member_dir, tmp_path / "api-2.log")
        await until(lambda: poller.current == {"45.33.1.2", "45.33.1.3"},
                    what="deltas after the member's restart")
        # The bouncer restarts; meanwhile another ban and lift.
        await stop(bouncer)
        ban("45.33.1.4")
        store.remove(["45.33.1.2"])
        bouncer = await spawn(*netns_exec(netns, "crowdsec-firewall-bouncer", "-c", str(config)),
                              log=tmp_path / "fw-2.log")
        await until(lambda: poller.current == {"45.33.1.3", "45.33.1.4"},
                    what="startup after the bouncer's restart")
    finally:
        sampling.cancel()
        await stop(bouncer)
        await stop(api)
