"""What the hub last told this member about the alliance, kept in its data directory.

The agent saves each heartbeat answer (``<data dir>/alliance.json``: the alliance's
pack and policy versions, its last drill and this member's part in it) so that
``shieldwall status``, run by another process, judges R5 and R8 against the same
facts; :func:`with_alliance` folds an answer into the views the pure checks read.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from shieldwall.errors import SignalError
from shieldwall.readiness.heartbeat import HeartbeatAnswer, decode_answer, encode
from shieldwall.readiness.versions import DrillView, VersionView

ALLIANCE_FILE = "alliance.json"


def save_answer(data_dir: Path, answer: HeartbeatAnswer) -> bool:
    """Replace the saved answer atomically; ``False`` when the directory is not writable."""
    target = data_dir / ALLIANCE_FILE
    temp = target.with_name(f".{ALLIANCE_FILE}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(encode(answer))
        os.replace(temp, target)
    except OSError:
        temp.unlink(missing_ok=True)
        return False
    return True


def load_answer(data_dir: Path) -> HeartbeatAnswer | None:
    """The last saved answer; ``None`` when there is none or it is unreadable."""
    try:
        return decode_answer((data_dir / ALLIANCE_FILE).read_bytes())
    except (OSError, SignalError):
        return None


def with_alliance(versions: VersionView, answer: HeartbeatAnswer | None) -> VersionView:
    """This member's versions with the alliance's, when the hub told them."""
    if answer is None:
        return versions
    return replace(versions, alliance=dict(answer.packs))


def drill_of(answer: HeartbeatAnswer | None) -> tuple[DrillView | None, bool | None]:
    """(this member's last drill, whether the alliance ever drilled) from an answer.

    ``None`` for the second when no answer is known (so R8 cannot say "no drill yet").
    """
    if answer is None:
        return None, None
    news = answer.drill
    view = None
    if news.passed is not None and news.at is not None:
        view = DrillView(passed=news.passed, at=news.at, detail=news.detail, id=news.id)
    return view, news.alliance_last is not None
