"""Debian's crowdsec 1.4.6 agent replaying a CrowdSec hub fixture through the gateway.

Real parts: the packaged ``crowdsec`` binary with the packaged sshd parsers and
ssh-bf scenario (its own config in a temporary directory: nothing under /etc is
used or changed, no service is started), the gateway, the hub over HTTPS, and
member B's agent following the hub's decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from shieldwall.hub.config import HubConfig
from shieldwall.interop.crowdsec.gateway_app import create_gateway_app
from shieldwall.interop.crowdsec.machines import Machines
from shieldwall.interop.crowdsec.server import make_server
from shieldwall.signals.member_state import load_member_state
from tests.conftest import require_root, shared_data
from tests.integration.hub_harness import init_hub, ledger_of, new_member, running_hub

from .harness import free_port
from .members import RunningMember, running, until

pytestmark = pytest.mark.root

HUB_ITEMS = Path("/usr/share/crowdsec/hub")
PARSERS = {
    "s00-raw": "crowdsecurity/syslog-logs.yaml",
    "s01-parse": "crowdsecurity/sshd-logs.yaml",
    "s02-enrich": "crowdsecurity/dateparse-enrich.yaml",
}
#: A fixture the packaged 1.4.6 parsers read whole (ssh-bf's own fixture now ends with an
#: ``sshd-session`` line, a program name the 1.4.6 sshd parser does not know yet).
FIXTURE = "sshd-invalid-bf"


def expected_attackers(fixture: Path) -> list[str]:
    """The sources ``scenario.assert`` expects, in result order (one per expected alert)."""
    text = (fixture / "scenario.assert").read_text()
    count = re.search(r"len\(results\) == (\d+)", text)
    assert count is not None, "scenario.assert gives no result count"
    pairs = re.findall(r'"([^"]+)" in results\[(\d+)\]\.Overflow\.GetSources\(\)', text)
    by_index = {int(index): ip for ip, index in pairs}
    return [by_index[i] for i in range(int(count.group(1)))]


def agent_config(root: Path, credentials: Path, simulated: bool) -> Path:
    """A config directory for the packaged agent, outside /etc."""
    cfg = root / "cfg"
    for stage, item in PARSERS.items():
        (cfg / "parsers" / stage).mkdir(parents=True, exist_ok=True)
        (cfg / "parsers" / stage / Path(item).name).symlink_to(HUB_ITEMS / "parsers" / stage / item)
    (cfg / "scenarios").mkdir()
    # As the package enables it: a symlink into the hub, so the alert carries its hub hash.
    (cfg / "scenarios" / "ssh-bf.yaml").symlink_to(HUB_ITEMS / "scenarios/crowdsecurity/ssh-bf.yaml")
    (cfg / "patterns").symlink_to("/etc/crowdsec/patterns")
    (cfg / "simulation.yaml").write_text(f"simulation: {'true' if simulated else 'false'}\n")
    (cfg / "acquis.yaml").write_text("")
    (root / "data").mkdir()
    config = cfg / "config.yaml"
    config.write_text(f"""common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: .
config_paths:
  config_dir: {cfg}/
  data_dir: {root}/data/
  simulation_path: {cfg}/simulation.yaml
  hub_dir: {HUB_ITEMS}/
  index_path: {HUB_ITEMS}/.index.json
  notification_dir: {cfg}/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: {cfg}/acquis.yaml
  parser_routines: 1
api:
  client:
    insecure_skip_verify: false
    credentials_path: {credentials}
prometheus:
  enabled: false
""")
    return config


@pytest.fixture
def hub_config(tmp_path: Path) -> HubConfig:
    config = init_hub(tmp_path / "hub")
    # The alliance decides how far a CrowdSec scenario is trusted; this one blocks at once.
    with (tmp_path / "hub" / "policy.toml").open("a") as policy:
        policy.write('\n[scenarios."crowdsecurity.ssh-bf"]\nconfirmed = true\nduration = 3600\n')
    return config


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    port = free_port()
    server: uvicorn.Server = make_server(app, f"127.0.0.1:{port}")
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), task
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def replay(config: Path, log: Path, out: Path) -> int:
    """Run the packaged agent over ``log`` until it has finished (it exits by itself)."""
    binary = shutil.which("crowdsec") or "crowdsec"
    with out.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            binary, "-c", str(config), "-dsn", f"file://{log}", "-type", "syslog", "-no-api",
            stdout=sink, stderr=subprocess.STDOUT)
        try:
            return await asyncio.wait_for(proc.wait(), 120)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


@pytest.mark.parametrize("simulated", [False, True], ids=["live", "simulated"])
async def test_the_agents_alert_becomes_one_signal_at_the_hub_and_blocks_elsewhere(
    hub_config: HubConfig, tmp_path: Path, simulated: bool
) -> None:
    require_root("crowdsec")
    fixture = shared_data("crowdsec-hub-tests", FIXTURE)
    (attacker,) = expected_attackers(fixture)
    log = fixture / f"{FIXTURE}.log"
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "a")
        await new_member(hub_config, tmp_path / "b", "b")
        other = RunningMember(tmp_path / "b")
        member = load_member_state(tmp_path / "a")
        app = create_gateway_app(tmp_path / "a", member)
        password = Machines(tmp_path / "a").add("cs-agent", time.time())
        async with served(app) as url, running(other):
            credentials = tmp_path / "local_api_credentials.yaml"
            credentials.write_text(f"url: {url}\nlogin: cs-agent\npassword: {password}\n")
            config = agent_config(tmp_path / "cs", credentials, simulated)
            code = await replay(config, log, tmp_path / "crowdsec.out")
            output = (tmp_path / "crowdsec.out").read_text(errors="replace")
            assert code == 0, output[-3000:]
            gateway = app.state.gateway
            await until(lambda: gateway.counts["alerts"] >= 1, what="the agent posted its alert")
            await until(lambda: gateway.outbox.backlog() == 0, what="the gateway sent its signal")
            if not simulated:
                await until(lambda: attacker in other.blocked(), what="member B blocks")
            else:
                await asyncio.sleep(1.0)  # time for a (wrong) decision to travel
            async with ledger_of(hub_config) as ledger:
                signals = await ledger.signals_for([attacker], 10)
                decisions = await ledger.decisions_after(0, 100)
    if simulated:
        assert gateway.counts["skipped.simulated"] == gateway.counts["alerts"] == 1
        assert signals == [] and decisions == [] and attacker not in other.blocked()
        return
    assert gateway.counts["alerts"] == gateway.counts["signals"] == 1
    (stored,) = signals
    assert stored.member == "a"
    assert (stored.signal.kind, stored.signal.target, stored.signal.scenario) == (
        "detection", attacker, "crowdsecurity.ssh-bf")
    assert stored.signal.count >= 6 and stored.signal.first_seen <= stored.signal.last_seen
    assert "scenario_hash" in stored.signal.evidence[0]
    assert [(d.action, d.target) for d in decisions] == [("block", attacker)]


async def test_cscli_lapi_register_leaves_the_machine_pending_until_validated(
    hub_config: HubConfig, tmp_path: Path
) -> None:
    require_root("cscli")
    async with running_hub(hub_config):
        await new_member(hub_config, tmp_path / "a", "a")
        app = create_gateway_app(tmp_path / "a", load_member_state(tmp_path / "a"))
        async with served(app) as url:
            credentials = tmp_path / "local_api_credentials.yaml"
            credentials.write_text("url: http://127.0.0.1:8080/\n")  # as the package leaves it
            config = agent_config(tmp_path / "cs", credentials, simulated=False)
            proc = await asyncio.create_subprocess_exec(
                "cscli", "-c", str(config), "lapi", "register", "--url", url,
                "--machine", "web1-crowdsec", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, out.decode(errors="replace")
            machines = Machines(tmp_path / "a")
            assert [(m.name, m.validated) for m in machines.list()] == [("web1-crowdsec", False)]
            written = dict(line.split(": ", 1) for line in credentials.read_text().splitlines())
            assert (written["url"], written["login"]) == (url, "web1-crowdsec")
            assert not machines.check("web1-crowdsec", written["password"])
            machines.validate("web1-crowdsec")
            assert machines.check("web1-crowdsec", written["password"])
