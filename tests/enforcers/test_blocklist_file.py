from pathlib import Path

from shieldwall.enforcers.blocklist_file import BlocklistFile


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_file_changes_are_seen_after_the_interval(tmp_path: Path) -> None:
    path = tmp_path / "blocklist.txt"
    clock = Clock()
    blocks = BlocklistFile(path, interval=1.0, clock=clock)
    assert not blocks.is_blocked("192.0.2.7")  # no file yet: nothing blocked
    path.write_text("192.0.2.7\n198.51.100.0/24 # note\n")
    assert not blocks.is_blocked("192.0.2.7")  # within the interval: not re-read
    clock.now = 1.0
    assert blocks.is_blocked("192.0.2.7")
    assert blocks.is_blocked("198.51.100.9")
    path.write_text("203.0.113.1\n")
    clock.now = 2.0
    assert not blocks.is_blocked("192.0.2.7")
    assert blocks.is_blocked("203.0.113.1")
    path.unlink()
    clock.now = 3.0
    assert not blocks.is_blocked("203.0.113.1")
