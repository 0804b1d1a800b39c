"""A chair-alone trial end to end: the charter delegates trials, the chair proposes alone.

A real hub over HTTPS on loopback under a council founded and attached through the
CLI (its charter lists ``trial`` among the acts the chair may sign alone), a real member
joined with a token (which pins the charter and the arsenal), its agent runtime with
an in-memory enforcer. The member verifies the council's act log from its pinned
charter before it runs the trial, then runs it in shadow: a sighting, no element.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from shieldwall.arsenal.measure import SIGHTING
from shieldwall.cli.main import cli
from shieldwall.hub.admin import join_hubs
from shieldwall.hub.config import HubConfig, load_hub_config
from shieldwall.signals.admitted import join_admitted, load_member_key, make_member_key
from shieldwall.signals.member_state import MemberState
from tests.arsenal.alliance import shipped_rule
from tests.conftest import shared_data
from tests.e2e.test_arsenal import RULE, A, Member, arsenal_refresh, cli_run, failures
from tests.integration.hub_harness import hub_context, init_hub, running_hub


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    """Alice, Bob and Carol, 2 of 3, Alice chairing from now, trials delegated; attached."""
    root = tmp_path
    (root / "never-block.txt").write_text("192.0.2.0/24\n")
    hub = init_hub(root / "hub", "--never-block", str(root / "never-block.txt")).data_dir
    folder = root / "council"

    def run(*argv: str) -> str:
        result = CliRunner().invoke(cli, ["council", *argv])
        assert result.exit_code == 0, result.output
        return result.output

    cards = []
    for name in ("alice", "bob", "carol"):
        cards += ["--councillor", run("keygen", str(root / f"{name}.key"), "--name", name,
                                      "--alliance", "north-sea").strip()]
    run("init", str(folder), "--key", str(root / "alice.key"), "--alliance", "north-sea", *cards,
        "--ordinary", "2", "--grave", "2", "--term-days", "30", "--delegate", "trial",
        "--hub-identity", str(hub / "identity.key"), "--policy", str(hub / "policy.toml"),
        "--never-block", str(root / "never-block.txt"))
    (founding,) = [p.name for p in (folder / "proposals").iterdir()]
    run("sign", str(folder), founding, "--key", str(root / "bob.key"))
    run("publish", str(folder), founding)
    run("attach", str(folder), "--hub", str(hub))
    return hub


async def _admitted(root: Path, config: HubConfig, name: str) -> MemberState:
    """Admitted by a council vote (alice proposes, carol signs), joined with its own key."""
    key = root / f"{name}-member.key"
    public = make_member_key(key)
    folder = str(root / "council")
    for argv in (["propose", "admit", folder, "--key", str(root / "alice.key"), "--member", name,
                  "--public-key", public], ["sign", folder, "-", "--key", str(root / "carol.key")]):
        if argv[0] == "sign":
            (argv[2],) = [p.name for p in (root / "council" / "proposals").iterdir()]
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["council", *argv])
        assert result.exit_code == 0, result.output
    (pid,) = [p.name for p in (root / "council" / "proposals").iterdir()]
    published = await asyncio.to_thread(CliRunner().invoke, cli, ["council", "publish", folder, pid])
    assert published.exit_code == 0, published.output
    hubs, pins = join_hubs(config)
    return await join_admitted(load_member_key(key), hubs, pins, config.charter, root / name)


async def test_the_chair_alone_starts_a_trial_and_a_member_runs_it_in_shadow(
    hub: Path, tmp_path: Path,
) -> None:
    hub_dir = ["--hub-dir", str(hub)]
    founded = await cli_run("arsenal", "init", *hub_dir, "--council", str(tmp_path / "council"),
                            "--key", str(tmp_path / "alice.key"), "--key", str(tmp_path / "bob.key"))
    assert founded.exit_code == 0, founded.output
    rule = tmp_path / "rule.toml"
    rule.write_bytes(shipped_rule().raw)
    proposed = await cli_run("arsenal", "propose", str(rule), *hub_dir, "--key", str(tmp_path / "alice.key"),
                             "--data", str(shared_data()))
    assert proposed.exit_code == 0, proposed.output
    assert "by the chair (alice) alone" in proposed.output
    config = load_hub_config(hub)
    async with running_hub(config) as server:
        member = Member(await _admitted(tmp_path, config, "m0"))
        assert (member.state.data_dir / "council.json").exists()  # the token pinned the charter
        assert await arsenal_refresh(member)
        assert member.runtime.arsenal.engine.reading("sshd") == [RULE]
        loaded = [n for e, n in member.notes if e == "arsenal.loaded"]
        assert loaded[-1]["rules"] == {RULE: "experimental"}
        member.read(failures(A, time.time() - 300))
        await member.send()
        assert member.enforcer.elements == {}  # zero elements: a trial never blocks
        ledger = hub_context(server).ledger
        sightings = [msgspec.json.decode(e.body) for e in await ledger.journal(SIGHTING)]
        assert [(s["rule"], s["target"], s["mode"]) for s in sightings] == [(RULE, A, "shadow")]
        assert await ledger.decisions_after(0, 10) == []
