"""``shieldwall agent check``: a configuration is only "OK" when every key is understood."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from shieldwall.cli.main import cli


def check(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["agent", "check", "--config", str(path)])
    return result.exit_code, result.output


def test_a_misspelt_allowlist_key_is_not_configuration_ok(tmp_path: Path) -> None:
    code, output = check(tmp_path, "[enforce]\nbackend = 'memory'\nallow_list = ['192.0.2.10']\n")
    assert code != 0
    assert "configuration OK" not in output
    assert "enforce.allow_list: unknown key, did you mean `allow`?" in output


def test_a_scenarios_file_with_a_typo_fails_the_check(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios.toml"
    scenarios.write_text(
        "[[scenario]]\nname = 'x'\npacks = ['sshd']\nkinds = ['auth_failure']\nthreshold = 3\n"
        "windw = '10m'\n"
    )
    code, output = check(tmp_path, f"[detection]\nscenarios = '{scenarios}'\n")
    assert code != 0
    assert "scenario[0] (x).windw: unknown key, did you mean `window`?" in output


def test_a_good_file_says_what_it_would_run(tmp_path: Path) -> None:
    code, output = check(
        tmp_path, "[[sources]]\npath = '/var/log/auth.log'\npack = 'sshd'\n[enforce]\nbackend = 'memory'\n"
    )
    assert code == 0, output
    assert "source:   file:/var/log/auth.log (pack sshd)" in output
    assert "enforcer: memory" in output
    assert output.rstrip().endswith("configuration OK")
