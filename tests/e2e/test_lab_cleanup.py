"""Every namespace, veth and process a lab creates is removed, even when the body fails."""

from __future__ import annotations

import os
import secrets
import subprocess
import time

import pytest

import shieldwall.lab.runner as runner
from shieldwall.lab.runner import Lab, LabError
from shieldwall.lab.topology import plan_lab
from tests.conftest import require_root

pytestmark = pytest.mark.root


def namespaces() -> set[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             check=True).stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent has not reaped it yet).
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split(") ", 1)[1][0] != "Z"


class Boom(Exception):
    pass


def test_failing_body_leaves_no_namespace_veth_process_or_folder() -> None:
    require_root("ip", "sleep", "setsid")
    before = namespaces()
    topology = plan_lab(["a", "b"], secrets.token_hex(3))
    pids: list[int] = []
    with pytest.raises(Boom), Lab(topology) as lab:
        workdir = lab.workdir
        assert set(topology.namespaces) <= namespaces()
        pids.append(lab.spawn("a", ["sleep", "300"]).pid)
        # A process that left our process group (as sshd's session children do).
        lab.run("b", ["sh", "-c", "setsid -f sleep 301 </dev/null >/dev/null 2>&1"])
        escaped = lab.pids_in(topology.node("b").netns)
        assert escaped
        pids.extend(escaped)
        assert lab.run("a", ["ip", "-o", "link", "show", "eth0"]).returncode == 0
        raise Boom
    assert namespaces() == before
    time.sleep(0.2)
    assert not [pid for pid in pids if alive(pid)]
    assert not workdir.exists()
    # The switch's veth ends went with its namespace: nothing named p-a is left anywhere.
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "p-a" not in links


def test_failure_while_building_removes_what_was_already_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_root("ip")
    before = namespaces()
    topology = plan_lab(["a", "b"], secrets.token_hex(3))
    real = runner.setup_commands

    def failing_half_way(topo: object) -> list[list[str]]:
        commands = real(topology)
        # A real command the kernel refuses, after the first namespaces exist.
        return [*commands[:6], ["ip", "link", "add", "x" * 20, "type", "dummy"], *commands[6:]]

    monkeypatch.setattr(runner, "setup_commands", failing_half_way)
    with pytest.raises(LabError), Lab(topology):
        pass
    assert namespaces() == before


def test_closing_twice_is_harmless_and_reports_nothing_left() -> None:
    require_root("ip")
    lab = Lab(plan_lab(["a"], secrets.token_hex(3)))
    lab.start()
    assert lab.close() == []
    assert lab.close() == []
    with pytest.raises(LabError, match="closed"):
        lab.spawn("a", ["true"])
