"""`shieldwall up`, the README's run command: a hub and a joined agent from one command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from shieldwall.cli.up import render_agent_config
from shieldwall.sources.discover import DiscoveredSource

from .hub_harness import free_port


def test_the_generated_agent_config_is_valid_toml_naming_each_source(tmp_path: Path) -> None:
    text = render_agent_config(
        tmp_path,
        [DiscoveredSource("file", "/var/log/auth.log", "sshd"), DiscoveredSource("journald", "", "sshd")],
        "memory",
    )
    data = tomllib.loads(text)
    assert data["agent"]["data_dir"] == str(tmp_path)
    assert [s["kind"] for s in data["sources"]] == ["file", "journald"]
    assert data["enforce"]["backend"] == "memory"


def test_up_starts_a_hub_joins_an_agent_and_stops_cleanly(tmp_path: Path) -> None:
    root = tmp_path / "state"
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "shieldwall.cli.main", "up", "--data", str(root),
         "--listen", f"127.0.0.1:{port}", "--backend", "memory"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (root / "member" / "member.json").exists() or not (root / "agent.toml").exists():
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline, "up did not join its agent in time"
            time.sleep(0.1)
        time.sleep(1.0)
        assert child.poll() is None
    finally:
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=30)
    assert "shieldwall is up" in err
    assert "invite another host" in err
    assert "dashboard (read-only, from this host): https://127.0.0.1:" in err
    assert (root / "hub" / "hub.toml").exists()
    # The hub child process ends with `up`.
    hub_alive = subprocess.run(["pgrep", "-f", f"--data {root}/hub"], capture_output=True)
    assert hub_alive.returncode != 0, hub_alive.stdout
    assert os.stat(root).st_mode & 0o077 == 0


def test_a_second_up_serves_where_hub_toml_says_and_reuses_the_membership(tmp_path: Path) -> None:
    root = tmp_path / "state"
    port = free_port()
    argv = [sys.executable, "-m", "shieldwall.cli.main", "up", "--data", str(root), "--backend", "memory"]
    for extra in (["--listen", f"127.0.0.1:{port}"], []):
        child = subprocess.Popen([*argv, *extra], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 text=True)
        assert child.stderr is not None
        try:
            first = child.stderr.readline()  # blocks until up says it is up (or exits)
            assert first.startswith("shieldwall is up"), first + child.stderr.read()
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass  # the hub listens where hub.toml says, without --listen the second time
        finally:
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=30)
        assert child.returncode == 0, err
    members = subprocess.run(
        [sys.executable, "-m", "shieldwall.cli.main", "hub", "members", "--data", str(root / "hub"),
         "--json"], capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    assert len(members) == 1  # the second run reused the membership instead of joining again
