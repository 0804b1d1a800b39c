"""Probes of sources and packs: real files with set times, a stand-in journalctl script."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shieldwall.readiness.probe_sources import (
    file_source,
    journal_argv,
    newest_entry,
    pack_versions,
    source_view,
)
from shieldwall.sources import SourceSpec, make_source
from shieldwall.sources.journald import JournaldSource
from shieldwall.sources.state import PositionStore

OLD = 1_700_000_000.0


def test_a_file_source_is_dated_by_its_last_write(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("Dec  1 10:00:00 host sshd[1]: Accepted publickey\n")
    os.utime(log, (OLD, OLD))
    view = file_source("file:x", str(log))
    assert (view.error, view.last_line_at) == (None, OLD)


def test_a_missing_file_source_says_so(tmp_path: Path) -> None:
    view = file_source("file:x", str(tmp_path / "gone.log"))
    assert view.error is not None and "does not exist" in view.error


def test_an_unreadable_file_source_says_who_needs_access(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file: a permission error cannot be made here")
    log = tmp_path / "auth.log"
    log.write_text("x\n")
    log.chmod(0)
    view = file_source("file:x", str(log))
    assert view.error is not None and "read access" in view.error


def fake_journalctl(tmp_path: Path, body: str) -> str:
    script = tmp_path / "journalctl"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_the_newest_journal_entry_gives_the_sources_last_line_time(tmp_path: Path) -> None:
    script = fake_journalctl(tmp_path, """echo '{"__REALTIME_TIMESTAMP":"1700000000250000","MESSAGE":"x"}'""")
    assert newest_entry([script]) == (1_700_000_000.25, None)


def test_an_empty_journal_answer_is_no_line_yet(tmp_path: Path) -> None:
    assert newest_entry([fake_journalctl(tmp_path, "exit 0")]) == (None, None)


@pytest.mark.parametrize("body", [
    "echo 'Failed to open journal' >&2; exit 1",
    "echo 'No journal files were opened due to insufficient permissions.' >&2; exit 0",
])
def test_a_journal_that_refuses_is_an_error_naming_what_to_do(tmp_path: Path, body: str) -> None:
    at, error = newest_entry([fake_journalctl(tmp_path, body)])
    assert at is None and error is not None and "systemd-journal" in error


def test_a_journal_entry_without_a_time_is_an_error(tmp_path: Path) -> None:
    at, error = newest_entry([fake_journalctl(tmp_path, "echo '{}'")])
    assert at is None and error is not None


def test_an_absent_journalctl_is_an_error(tmp_path: Path) -> None:
    assert newest_entry([str(tmp_path / "none")])[1] is not None


def test_the_journal_query_uses_the_sources_own_selector_and_namespace() -> None:
    spec = SourceSpec(kind="journald", pack="sshd", units=("ssh.service",), namespace="web")
    source = make_source(spec, PositionStore())
    assert isinstance(source, JournaldSource)
    argv = journal_argv(source, "/bin/journalctl")
    assert argv[:4] == ["/bin/journalctl", "--output=json", "--no-pager", "--lines=1"]
    assert "--namespace=web" in argv and argv[-len(source.selector.match_args()):] == \
        source.selector.match_args()
    assert "--follow" not in argv


def test_source_view_dispatches_by_kind(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("x\n")
    assert source_view(SourceSpec(kind="file", pack="sshd", path=str(log))).error is None
    assert source_view(SourceSpec(kind="stdin", pack="sshd")).unobserved is not None
    journal = source_view(SourceSpec(kind="journald", pack="sshd", namespace="swt-absent"))
    # No journald runs for a made-up namespace: the source is an error with a way out.
    assert journal.error is not None


def test_pack_versions_are_digests_of_content_and_bad_packs_are_errors(tmp_path: Path) -> None:
    specs = [SourceSpec(pack="sshd", path="/a"), SourceSpec(pack="sshd", path="/b"),
             SourceSpec(pack=str(tmp_path / "missing.toml"), path="/c")]
    view = pack_versions(specs)
    assert list(view.local) == ["sshd"] and len(view.local["sshd"]) == 64
    assert list(view.errors) == [str(tmp_path / "missing.toml")]
    assert pack_versions(specs[:1]).local == view.local  # stable across calls
