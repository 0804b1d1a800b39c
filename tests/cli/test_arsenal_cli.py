"""`shieldwall arsenal init --council`: the arsenal is signed by the council in force."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from shieldwall.arsenal.repository import Repository
from shieldwall.cli.main import cli
from shieldwall.governance.chair import chair_at
from shieldwall.governance.charter import Rotation
from shieldwall.governance.store import load_key
from shieldwall.signals.keys import public_key_of
from tests.arsenal.alliance import shipped_rule
from tests.cli.test_council_cli import START, Alliance
from tests.conftest import shared_data
from tests.integration.hub_harness import init_hub


def test_the_arsenal_takes_the_councils_keys_and_its_threshold(tmp_path: Path) -> None:
    council = Alliance(tmp_path)
    council.found()  # alice, bob, carol; 2 of 3
    config = init_hub(tmp_path / "hub")
    hub = ["--hub-dir", str(config.data_dir), "--council", str(council.folder)]
    alone = CliRunner().invoke(cli, ["arsenal", "init", *hub, "--key", council.key("alice")])
    assert alone.exit_code != 0 and "signed by 1/2" in alone.output
    made = CliRunner().invoke(cli, ["arsenal", "init", *hub, "--key", council.key("alice"),
                                    "--key", council.key("carol")])
    assert made.exit_code == 0, made.output
    root = Repository(config.data_dir / "arsenal").root()
    expected = {public_key_of(load_key(Path(council.key(n)))).hex() for n in ("alice", "bob", "carol")}
    assert {root.keys[k].keyval["public"] for k in root.roles["targets"].keyids} == expected
    assert root.roles["targets"].threshold == root.roles["root"].threshold == 2


def _trial_council(tmp_path: Path) -> Alliance:
    """Alice, Bob and Carol, 2 of 3, 30-day terms, and a charter that delegates trials."""
    council = Alliance(tmp_path)
    cards = [arg for name in ("alice", "bob", "carol") for arg in ("--councillor", council.keygen(name))]
    council.run("init", str(council.folder), "--key", council.key("alice"), "--alliance", "north-sea", *cards,
                "--ordinary", "2", "--grave", "2", "--term-days", "30", "--start", str(START),
                "--delegate", "trial", "--hub-identity", str(tmp_path / "hub.key"),
                "--policy", str(tmp_path / "policy.toml"), "--never-block", str(tmp_path / "never-block.txt"),
                now=START)
    founding = council.only_proposal()
    council.run("sign", str(council.folder), founding, "--key", council.key("bob"), now=START)
    council.run("publish", str(council.folder), founding, now=START)
    return council


def test_the_chair_alone_proposes_a_trial_when_the_charter_delegates_it_and_no_one_else_may(
    tmp_path: Path,
) -> None:
    council = _trial_council(tmp_path)
    config = init_hub(tmp_path / "hub")
    attached = CliRunner().invoke(cli, ["council", "attach", str(council.folder),
                                        "--hub", str(config.data_dir)])
    assert attached.exit_code == 0, attached.output
    hub = ["--hub-dir", str(config.data_dir)]
    made = CliRunner().invoke(cli, ["arsenal", "init", *hub, "--council", str(council.folder),
                                    "--key", council.key("alice"), "--key", council.key("carol")])
    assert made.exit_code == 0, made.output
    rotation = Rotation(order=("alice", "bob", "carol"), start=START, term="days", days=30)
    chair = chair_at(rotation, int(time.time()))
    other = next(n for n in ("alice", "bob", "carol") if n != chair)
    rule = tmp_path / "rule.toml"
    rule.write_bytes(shipped_rule().raw)
    propose = ["arsenal", "propose", str(rule), *hub, "--data", str(shared_data())]
    refused = CliRunner().invoke(cli, [*propose, "--key", council.key(other)])
    assert refused.exit_code != 0 and "only the chair starts a trial alone" in refused.output
    done = CliRunner().invoke(cli, [*propose, "--key", council.key(str(chair))])
    assert done.exit_code == 0, done.output
    assert f"by the chair ({chair}) alone" in done.output
    listed = CliRunner().invoke(cli, ["arsenal", "list", *hub])
    assert "ssh-quick-guess@1                experimental  (chair-alone trial)" in listed.output
