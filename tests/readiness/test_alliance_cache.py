"""The hub's last answer kept in the member's data directory, and what R5/R8 read of it."""

from __future__ import annotations

from pathlib import Path

from shieldwall.readiness.alliance_cache import (
    ALLIANCE_FILE,
    drill_of,
    load_answer,
    save_answer,
    with_alliance,
)
from shieldwall.readiness.heartbeat import DrillNews, HeartbeatAnswer
from shieldwall.readiness.versions import VersionView

ANSWER = HeartbeatAnswer(member="alpha", at=10.0, head=3, state="ok", packs={"sshd": "d1"},
                         drill=DrillNews(alliance_last=5.0, passed=False, at=5.0,
                                         detail="enforce: table missing", id="d-1"))


def test_an_answer_round_trips_through_the_data_directory(tmp_path: Path) -> None:
    assert save_answer(tmp_path, ANSWER)
    assert load_answer(tmp_path) == ANSWER


def test_a_missing_or_unreadable_answer_is_none(tmp_path: Path) -> None:
    assert load_answer(tmp_path) is None
    (tmp_path / ALLIANCE_FILE).write_text('{"member": 1}')
    assert load_answer(tmp_path) is None


def test_an_unwritable_directory_is_reported_not_raised(tmp_path: Path) -> None:
    assert not save_answer(tmp_path / "absent", ANSWER)


def test_the_answer_gives_the_alliance_versions_and_this_members_drill() -> None:
    assert with_alliance(VersionView(), None).alliance is None
    assert with_alliance(VersionView(), ANSWER).alliance == {"sshd": "d1"}
    drill, drilled = drill_of(ANSWER)
    assert drill is not None and not drill.passed and drill.id == "d-1" and drilled
    assert drill_of(None) == (None, None)
    never = HeartbeatAnswer(member="alpha", at=1.0, head=0, state="ok")
    assert drill_of(never) == (None, False)
