"""The active set is swapped whole: a member killed during an update keeps the old or the new set.

The member is a real subprocess running :func:`shieldwall.arsenal.updater.update`
against a real HTTP server; it is killed by PID with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shieldwall.arsenal import active, changes
from shieldwall.arsenal.active import ActiveRule, ActiveSet
from shieldwall.arsenal.repository import Repository, signer_of
from shieldwall.arsenal.rule import parse_rule
from shieldwall.arsenal.updater import update
from shieldwall.errors import ArsenalError
from tests.arsenal.alliance import NOW, Council, member_source, rule_text, serve
from tests.arsenal.test_updater import PASSED

CHILD = """
import sys, time
from pathlib import Path
from shieldwall.arsenal.updater import Source, update
source = Source(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]).read_bytes())
def pause(candidate):
    print("downloaded", flush=True)
    time.sleep(float(sys.argv[4]))
update(source, before_swap=pause)
print("swapped", flush=True)
"""


def _publish(repo: Repository, council: Council, names: list[str], version: int) -> None:
    for name in names:
        draft = changes.propose(repo, parse_rule(rule_text(name, version)), PASSED, NOW)
        for seed in council.seeds[:2]:
            draft.sign(signer_of(seed), append=True)
        repo.publish(draft, council.hub, NOW)


def _ids(folder: Path) -> list[str]:
    return sorted(a.rule.id for a in active.load(folder).rules)


def _child(member: Path, url: str, root: Path, pause: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(member), url, str(root), str(pause)],
                            stdout=subprocess.PIPE, text=True)


def test_killed_between_download_and_swap_restarts_with_the_old_set_then_takes_the_new(
    tmp_path: Path,
) -> None:
    council = Council.new()
    repo = council.found(tmp_path / "hub")
    _publish(repo, council, ["alpha", "beta"], 1)
    member, root = tmp_path / "m", tmp_path / "root.json"
    root.write_bytes(repo.root_bytes(1))
    with serve(tmp_path / "hub") as url:
        update(member_source(member, url, repo))
        old = _ids(member)
        _publish(repo, council, ["alpha", "beta", "gamma"], 2)
        child = _child(member, url, root, 60)
        assert child.stdout is not None
        assert child.stdout.readline() == "downloaded\n"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        assert _ids(member) == old == ["alpha@1", "beta@1"]
        # The restarted member takes the new set whole.
        update(member_source(member, url, repo))
    # (A new version runs beside the old one until it is promoted in its place.)
    assert _ids(member) == ["alpha@1", "alpha@2", "beta@1", "beta@2", "gamma@2"]


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.005, 0.01, 0.02])
def test_killed_at_any_moment_of_the_swap_leaves_old_or_new_never_a_mix(tmp_path: Path, delay: float) -> None:
    member = tmp_path / "m"
    old = ActiveSet(1, tuple(ActiveRule(parse_rule(rule_text(n, 1)), "experimental") for n in "abcdefgh"))
    new = ActiveSet(2, tuple(ActiveRule(parse_rule(rule_text(n, 2)), "test", "0" * 64) for n in "abcdefgh"))
    active.save(member, old)
    script = ("import sys, pickle; from pathlib import Path; from shieldwall.arsenal import active; "
              "active.save(Path(sys.argv[1]), pickle.loads(sys.stdin.buffer.read()))")
    import pickle

    child = subprocess.Popen([sys.executable, "-c", script, str(member)], stdin=subprocess.PIPE)
    assert child.stdin is not None
    child.stdin.write(pickle.dumps(new))
    child.stdin.close()
    time.sleep(0.15 + delay)  # interpreter start-up, then somewhere in the save
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert active.load(member) in (old, new)


def test_a_file_changed_behind_the_agents_back_is_refused_as_corrupt(tmp_path: Path) -> None:
    active.save(tmp_path, ActiveSet(1, (ActiveRule(parse_rule(rule_text("a")), "experimental"),)))
    stored = next((tmp_path / "store").iterdir())
    stored.write_bytes(stored.read_bytes() + b"\n")
    with pytest.raises(ArsenalError, match="does not hash") as refusal:
        active.load(tmp_path)
    assert refusal.value.reason == "corrupt"
