import math
from pathlib import Path

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.exports import (
    render_ipset,
    render_nft,
    render_nginx_geo,
    render_plain,
    write_exports,
)

NOW = 100.0
BLOCKS = [
    Block("198.51.100.0/24", NOW + 60),
    Block("192.0.2.7", NOW + 10.2),
    Block("2001:db8::1", math.inf),
    Block("192.0.2.99", NOW - 1),
]


def test_plain_list_is_sorted_active_targets() -> None:
    assert render_plain(BLOCKS, NOW) == "192.0.2.7\n198.51.100.0/24\n2001:db8::1\n"


def test_ipset_file_puts_each_target_in_its_family_and_kind() -> None:
    text = render_ipset(BLOCKS, NOW)
    assert "add shieldwall-v4 192.0.2.7 timeout 11 -exist" in text
    assert "add shieldwall-net-v4 198.51.100.0/24 timeout 60 -exist" in text
    assert "add shieldwall-v6 2001:db8::1 timeout 0 -exist" in text
    assert "create shieldwall-net-v6 hash:net family inet6 timeout 0" in text
    assert "192.0.2.99" not in text


def test_nginx_geo_lines_map_to_one() -> None:
    lines = render_nginx_geo(BLOCKS, NOW).splitlines()
    assert lines[1:] == ["192.0.2.7 1;", "198.51.100.0/24 1;", "2001:db8::1 1;"]


def test_nft_script_is_the_full_table() -> None:
    text = render_nft(BLOCKS, NOW)
    assert text.startswith("add table inet shieldwall\ndelete table inet shieldwall\n")
    assert "192.0.2.99" not in text


def test_exports_are_rewritten_only_when_targets_change(tmp_path: Path) -> None:
    first = write_exports(tmp_path, BLOCKS, NOW)
    assert sorted(p.name for p in first) == [
        "blocklist.txt",
        "ipset.restore",
        "nginx-geo.conf",
        "shieldwall.nft",
    ]
    assert write_exports(tmp_path, BLOCKS, NOW + 1) == []
    changed = write_exports(tmp_path, [*BLOCKS, Block("203.0.113.1")], NOW + 2)
    assert len(changed) == 4
    assert "203.0.113.1" in (tmp_path / "nginx-geo.conf").read_text()
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
