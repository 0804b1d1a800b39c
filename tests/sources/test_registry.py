"""The registry of source kinds: one dict, factories behind a narrow protocol."""

from __future__ import annotations

import pytest

from shieldwall.errors import ConfigError
from shieldwall.sources import SOURCES, SourceSpec, make_source
from shieldwall.sources.lines import LineStats
from shieldwall.sources.state import PositionStore


def test_every_kind_builds_a_source_of_that_kind() -> None:
    specs = {
        "file": SourceSpec("file", path="/var/log/auth.log"),
        "journald": SourceSpec("journald"),
        "stdin": SourceSpec("stdin"),
    }
    assert set(specs) == set(SOURCES)
    for kind, spec in specs.items():
        source = make_source(spec, PositionStore())
        assert source.kind == kind
        assert source.name


def test_sources_share_the_line_stats_they_are_given() -> None:
    stats = LineStats()
    source = make_source(SourceSpec("file", path="/tmp/x.log"), PositionStore(), stats)
    assert source.stats.lines is stats  # type: ignore[attr-defined]


def test_journald_key_names_selector_and_namespace() -> None:
    source = make_source(SourceSpec("journald", namespace="web"), PositionStore())
    assert source.name == "journald:sshd@web"


def test_unknown_kind_is_a_config_error_listing_the_kinds() -> None:
    with pytest.raises(ConfigError, match=r"'syslog' is unknown; use one of \['file', 'journald'"):
        make_source(SourceSpec("syslog"), PositionStore())


def test_file_without_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="needs a path"):
        make_source(SourceSpec("file"), PositionStore())


def test_unknown_journald_selector_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="selector 'nginx' is unknown"):
        make_source(SourceSpec("journald", selector="nginx"), PositionStore())


def test_journald_source_built_from_units_and_comms_names_its_cursor_after_them() -> None:
    from shieldwall.sources.journald import JournaldSource

    source = JournaldSource(PositionStore(), units=["ssh.service"], comms=["sshd"])
    assert source.name == "journald:ssh.service"
    assert source.selector.trusts({"_COMM": "sshd", "_UID": "0", "_SYSTEMD_UNIT": "ssh.service"})
    assert JournaldSource(PositionStore()).name == "journald:sshd"


def test_the_agents_sources_tables_are_the_registrys_spec() -> None:
    from shieldwall.agent.config import parse_agent_config

    config = parse_agent_config(
        "[[sources]]\npath = '/var/log/auth.log'\npack = 'sshd'\n"
        "[[sources]]\nkind = 'journald'\nunits = ['ssh.service']\npack = 'sshd'\nfrom_start = true\n"
    )
    file, journal = config.sources
    assert isinstance(file, SourceSpec) and file.label == "file:/var/log/auth.log"
    source = make_source(journal, PositionStore())
    assert (source.kind, source.name, journal.label) == ("journald", "journald:ssh.service",
                                                         "journald:ssh.service")
    assert source.from_start  # type: ignore[attr-defined]
