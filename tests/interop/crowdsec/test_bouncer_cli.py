"""``shieldwall bouncer``: add, list, delete and setup firewall, through the real CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from shieldwall.cli.main import cli
from shieldwall.interop.crowdsec.firewall_setup import CONFIG_LOCAL, DROP_IN
from shieldwall.interop.crowdsec.journal import FILE_NAME, Journal


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_add_prints_a_key_once_that_authenticates_and_is_not_stored(tmp_path: Path) -> None:
    code, out = run("bouncer", "add", "nginx", "--data-dir", str(tmp_path), "--raw")
    key = out.strip()
    assert code == 0 and len(key) >= 32
    assert Journal.open(tmp_path).authenticate(key) == "nginx"
    stored = b"".join(p.read_bytes() for p in tmp_path.glob(FILE_NAME + "*"))
    assert key.encode() not in stored
    code, out = run("bouncer", "add", "nginx", "--data-dir", str(tmp_path))
    assert code == 2 and "exists" in out


def test_list_and_delete(tmp_path: Path) -> None:
    run("bouncer", "add", "a", "--data-dir", str(tmp_path))
    run("bouncer", "add", "b", "--data-dir", str(tmp_path))
    code, out = run("bouncer", "list", "--data-dir", str(tmp_path), "--json")
    assert code == 0
    assert [b["name"] for b in json.loads(out)["bouncers"]] == ["a", "b"]
    assert run("bouncer", "delete", "a", "--data-dir", str(tmp_path))[0] == 0
    code, out = run("bouncer", "list", "--data-dir", str(tmp_path))
    assert code == 0 and "b " in out and "\na " not in out
    assert run("bouncer", "delete", "a", "--data-dir", str(tmp_path))[0] != 0


def test_setup_firewall_writes_the_override_and_a_restart_drop_in(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    local = etc / CONFIG_LOCAL
    local.parent.mkdir(parents=True)
    local.write_text("mode: nftables\napi_key: from-the-package-postinst\n")
    code, out = run("bouncer", "setup", "firewall", "--data-dir", str(tmp_path / "member"),
                    "--etc", str(etc), "--url", "http://127.0.0.1:8081/crowdsec", "--every", "1s")
    assert code == 0, out
    text = local.read_text()
    key = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("api_key"))
    assert "mode: nftables\n" in text and "api_url: http://127.0.0.1:8081/crowdsec/\n" in text
    assert "update_frequency: 1s\n" in text
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    assert Journal.open(tmp_path / "member").authenticate(key) == "firewall"
    backup = local.parent / (local.name + ".before-shieldwall")
    assert "from-the-package-postinst" in backup.read_text()
    drop_in = (etc / DROP_IN).read_text()
    assert "Restart=always" in drop_in and "RestartSec=10" in drop_in
    assert "StartLimitIntervalSec=0" in drop_in

    # Again: a new key replaces the old one, the original backup is kept.
    run("bouncer", "setup", "firewall", "--data-dir", str(tmp_path / "member"), "--etc", str(etc))
    assert Journal.open(tmp_path / "member").authenticate(key) is None
    assert "from-the-package-postinst" in backup.read_text()


def test_setup_refuses_values_that_would_rewrite_the_yaml(tmp_path: Path) -> None:
    code, out = run("bouncer", "setup", "firewall", "--data-dir", str(tmp_path), "--etc",
                    str(tmp_path / "etc"), "--url", "http://x/\napi_key: mine")
    assert code == 2 and "cannot be written" in out
    assert not (tmp_path / "etc" / CONFIG_LOCAL).exists()
    assert Journal.open(tmp_path).bouncers() == []


def test_serve_refuses_plain_http_beyond_loopback(tmp_path: Path) -> None:
    code, out = run("bouncer", "serve", "--data-dir", str(tmp_path), "--listen", "0.0.0.0:8081")
    assert code != 0 and "without TLS" in out
