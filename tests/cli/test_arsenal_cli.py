"""`shieldwall arsenal init --council`: the arsenal is signed by the council in force."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from shieldwall.arsenal.repository import Repository
from shieldwall.cli.main import cli
from shieldwall.governance.store import load_key
from shieldwall.signals.keys import public_key_of
from tests.cli.test_council_cli import Alliance
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
