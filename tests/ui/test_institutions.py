"""The council page from a real council folder made with `shieldwall council`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from shieldwall.ui.institutions import Institutions
from tests.cli.test_council_cli import DAY, START, Alliance


async def test_the_council_page_shows_open_proposals_their_signatures_and_the_chair(
    tmp_path: Path,
) -> None:
    alliance = Alliance(tmp_path)
    alliance.found()
    new_policy = tmp_path / "policy-v2.toml"
    new_policy.write_text("quorum = 3\n")
    alliance.run("propose", "policy", str(alliance.folder), "--key", alliance.key("alice"),
                 "--file", str(new_policy))
    hub: Any = SimpleNamespace(config=SimpleNamespace(council_dir=alliance.folder, charter=""))
    table = await Institutions().table("council", hub, START + DAY + 60)
    ((pid, kind, opened_by, _, signatures, status),) = table.rows
    assert (kind, opened_by) == ("policy", "alice")
    assert signatures == "v1 council 1/2: alice" and status != "publishable"
    assert "charter v1" in table.details and "chair now: alice" in table.details
    assert "charter" in table.details.splitlines()[-1]  # the founding act, oldest last
    alliance.run("sign", str(alliance.folder), pid, "--key", alliance.key("bob"))
    ((*_, signatures, status),) = (await Institutions().table("council", hub, START + DAY)).rows
    assert signatures == "v1 council 2/2: alice, bob" and status == "publishable"


async def test_without_a_council_the_page_says_how_to_found_one() -> None:
    hub: Any = SimpleNamespace(config=SimpleNamespace(council_dir=None, charter=""))
    table = await Institutions().table("council", hub, START)
    assert table.rows == () and "shieldwall council init" in table.empty
