"""The arsenal in the lab: real sshd, real attacks, real agents enforcing with nftables.

An operator proposes the shipped rule ``ssh-quick-guess`` (3 failures in a minute);
the agents hot-load it as experimental. The attacker's real wrong passwords raise
shadow sightings on every member, and no nft element anywhere. The council
promotes it (one signature refused, two accepted); the same agent processes
(never restarted) then block the next attacker at once, and the hub's decision
names the rule. The figures and CLI outputs are printed (``pytest -s``).
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from shieldwall.arsenal.repository import Repository
from shieldwall.governance.store import save_key
from shieldwall.lab.alliance import SHIELDWALL, Alliance
from shieldwall.lab.runner import Lab
from shieldwall.lab.topology import plan_lab
from shieldwall.signals.keys import new_seed, public_key_of
from tests.conftest import require_root, shared_data

pytestmark = pytest.mark.root

TOOLS = ("ip", "nft", "/usr/sbin/sshd", "ssh", "sshpass", "ssh-keygen")
RULE = "ssh-quick-guess@1"
RULE_FILE = Path(__file__).resolve().parents[2] / "src/shieldwall/arsenal/rules/ssh-quick-guess.toml"


@pytest.fixture(scope="module")
def alliance() -> Iterator[Alliance]:
    require_root(*TOOLS)
    topology = plan_lab(["hub", "a", "b", "c", "attacker"], secrets.token_hex(3),
                        extra_v4={"attacker": 3})
    with Lab(topology) as lab:
        alliance = Alliance(lab, ("a", "b", "c"))
        alliance.build(agents=False)
        yield alliance


def wait_loaded(alliance: Alliance, name: str, status: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(n.get("event") == "arsenal.loaded" and n.get("rules", {}).get(RULE) == status
               for n in alliance.notes(name)):
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} did not load {RULE} as {status}; see {alliance.members[name].agent_log}")


def sightings(alliance: Alliance, name: str, target: str) -> list[dict[str, object]]:
    return [n for n in alliance.notes(name) if n.get("event") == "arsenal.sighting" and n.get("ip") == target]


def report(alliance: Alliance) -> dict[str, object]:
    out = alliance.shieldwall("arsenal", "report", RULE, "--hub-dir", str(alliance.hub_dir), "--json")
    figures: dict[str, object] = msgspec.json.decode(out.stdout)[0]["figures"]
    return figures


def test_an_operator_proposes_a_rule_the_lab_measures_it_and_the_council_promotes_it(
    alliance: Alliance,
) -> None:
    work = alliance.lab.workdir
    keys, councillors = [], []
    for index in range(3):
        seed = new_seed()
        save_key(work / f"councillor{index}.key", seed)
        keys.append(str(work / f"councillor{index}.key"))
        councillors += ["--councillor", public_key_of(seed).hex()]
    hub = ("--hub-dir", str(alliance.hub_dir))
    founded = alliance.shieldwall("arsenal", "init", *hub, "--key", keys[0], "--key", keys[1],
                                  "--threshold", "2", *councillors)
    print(founded.stdout)
    proposed = alliance.shieldwall("arsenal", "propose", str(RULE_FILE), *hub, "--key", keys[0],
                                   "--key", keys[1], "--data", str(shared_data()))
    print(proposed.stdout)
    pin = hashlib.sha256(Repository(alliance.hub_dir / "arsenal").root_bytes(1)).hexdigest()
    for name, member in alliance.members.items():
        alliance.shieldwall("arsenal", "join", "--data-dir", str(member.data_dir), "--root-sha256", pin,
                            "--refresh", "1s", node=name)
        alliance.start_agent(name)
    for name in alliance.members:
        wait_loaded(alliance, name, "experimental")
    pids = {name: m.processes["agent"].pid for name, m in alliance.members.items()}

    # -- experimental: real attacks, shadow sightings, no nft element anywhere -------------
    first, second = alliance.source(0), alliance.source(1)
    for name in ("a", "b", "c"):
        alliance.ssh_attempts(name, 3, source=first)
    for name in ("a", "b"):
        alliance.ssh_attempts(name, 3, source=second)
    deadline = time.time() + 30
    while time.time() < deadline and report(alliance)["detections_shadow"] != 5:
        time.sleep(0.5)
    for name in ("a", "b", "c"):
        assert sightings(alliance, name, first) and sightings(alliance, name, first)[0]["mode"] == "shadow"
        assert alliance.firewall(name) == {}, f"{name} blocks while the rule is experimental"
        assert alliance.tcp_open(name, source=first)
    assert alliance.decisions() == []
    shown = alliance.shieldwall("arsenal", "show", RULE, *hub)
    print(shown.stdout)
    measured = report(alliance)
    assert (measured["detections_shadow"], measured["targets"], measured["members"]) == (5, 2, 3)
    assert measured["corroboration"] == 1.0 and measured["protected_hits"] == 0

    # -- the council promotes it: one signature is refused, two publish it ----------------
    one = subprocess.run([*SHIELDWALL, "arsenal", "promote", RULE, "--to", "test", *hub, "--key", keys[0]],
                         capture_output=True, text=True, check=False)
    print(one.stderr)
    assert one.returncode != 0 and "signed by 1/2 keys" in one.stderr
    two = alliance.shieldwall("arsenal", "promote", RULE, "--to", "test", *hub, "--key", keys[0],
                              "--key", keys[2])
    print(two.stdout)
    for name in alliance.members:
        wait_loaded(alliance, name, "test")
    assert {name: m.processes["agent"].pid for name, m in alliance.members.items()} == pids

    # -- enforcing: the next attacker is blocked at once, the alliance decides -------------
    third = alliance.source(2)
    for name in ("a", "b", "c"):
        alliance.ssh_attempts(name, 3, source=third)
        alliance.wait_blocked(name, third)
        assert not alliance.tcp_open(name, source=third)
    deadline = time.time() + 20
    while time.time() < deadline and not alliance.decisions():
        time.sleep(0.2)
    decisions = alliance.decisions()
    assert [(d.target, d.rule) for d in decisions if d.action == "block"] == [(third, RULE)]
    print(alliance.shieldwall("arsenal", "list", *hub).stdout)
    print(alliance.shieldwall("arsenal", "report", RULE, *hub).stdout)
