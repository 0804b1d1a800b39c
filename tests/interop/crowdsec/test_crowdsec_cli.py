"""``shieldwall crowdsec``: machines and the gateway's start-up errors, through the real CLI."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.interop.crowdsec.machines import Machines


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_machine_add_writes_the_agents_credentials_file(tmp_path: Path) -> None:
    credentials = tmp_path / "local_api_credentials.yaml"
    code, out = run("crowdsec", "machine", "add", "cs-agent", "--data-dir", str(tmp_path),
                    "--credentials", str(credentials), "--url", "http://127.0.0.1:8082/")
    assert code == 0, out
    fields = dict(line.split(": ", 1) for line in credentials.read_text().splitlines())
    assert (fields["url"], fields["login"]) == ("http://127.0.0.1:8082/", "cs-agent")
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert Machines(tmp_path).check("cs-agent", fields["password"])
    assert fields["password"] not in out


def test_machine_list_validate_delete(tmp_path: Path) -> None:
    Machines(tmp_path).add("pending-one", 0.0, "a-long-password", validated=False)
    code, out = run("crowdsec", "machine", "list", "--data-dir", str(tmp_path))
    assert code == 0 and "PENDING" in out
    assert run("crowdsec", "machine", "validate", "pending-one", "--data-dir", str(tmp_path))[0] == 0
    assert Machines(tmp_path).check("pending-one", "a-long-password")
    assert run("crowdsec", "machine", "delete", "pending-one", "--data-dir", str(tmp_path))[0] == 0
    code, out = run("crowdsec", "machine", "delete", "pending-one", "--data-dir", str(tmp_path))
    assert code != 0 and "no machine" in out


def test_the_gateway_needs_a_membership_and_says_how_to_get_one(tmp_path: Path) -> None:
    code, out = run("crowdsec", "gateway", "--data-dir", str(tmp_path))
    assert code != 0 and "shieldwall join" in out

