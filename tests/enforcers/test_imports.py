from pathlib import Path

from shieldwall.addresses import Ranges, load_ranges, parse_ranges
from shieldwall.enforcers.imports import (
    REASON_COUNT,
    REASON_INVALID,
    REASON_RESERVED,
    REASON_WIDE,
    screen_blocklist,
)
from tests.conftest import shared_data

NONE = Ranges()


def test_plain_ipsum_and_netset_lines_are_understood() -> None:
    lines = [
        "# FireHOL-style header",
        "; another comment",
        "",
        "203.0.113.5",
        "45.0.0.1\t7",
        "45.1.0.0/16",
        "45.2.0.0/24 ; SBL123",
        "2a00:1::/32",
        "45.3.0.9 # trailing note",
    ]
    report = screen_blocklist(lines, NONE)
    assert report.accepted == ("45.0.0.1", "45.1.0.0/16", "45.2.0.0/24", "2a00:1::/32", "45.3.0.9")
    assert report.refused == {REASON_RESERVED: 1}  # 203.0.113.5 is documentation space


def test_private_reserved_wide_and_invalid_entries_are_refused_by_reason() -> None:
    lines = [
        "10.1.2.3",
        "192.168.0.0/16",
        "127.0.0.1",
        "0.0.0.0/8",
        "224.0.0.1",
        "fe80::1",
        "fc00::/7",
        "32.0.0.0/4",
        "44.0.0.0/7",
        "2a00::/12",
        "evil.example",
        "45.1.2.3/16",
        "999.1.1.1",
    ]
    report = screen_blocklist(lines, NONE)
    assert report.accepted == ()
    assert report.refused == {REASON_RESERVED: 7, REASON_WIDE: 3, REASON_INVALID: 3}
    assert "refused 7: private or reserved" in report.describe()


def test_protected_entries_are_refused_and_named() -> None:
    allow = parse_ranges("66.249.64.0/19\n", "googlebot_ipv4.txt")
    report = screen_blocklist(["66.249.64.85\t1", "66.0.0.0/8", "45.0.0.1\t1"], allow)
    assert report.accepted == ("45.0.0.1",)
    assert report.refused == {"protected (googlebot_ipv4.txt)": 2}


def test_count_threshold_applies_to_ipsum_lines() -> None:
    report = screen_blocklist(["45.0.0.1\t1", "45.0.0.2\t3", "45.0.0.3"], NONE, min_count=3)
    assert report.accepted == ("45.0.0.2", "45.0.0.3")
    assert report.refused == {REASON_COUNT: 1}


def test_duplicates_are_counted_once() -> None:
    report = screen_blocklist(["45.0.0.1", "45.0.0.1", "45.0.0.1/32"], NONE)
    assert report.accepted == ("45.0.0.1",)
    assert report.duplicates == 2


def test_real_ipsum_feed_refuses_exactly_the_66_allowlisted_crawlers_and_monitors() -> None:
    feed = shared_data("ipsum", "ipsum.txt")
    allow = load_ranges(sorted(shared_data("ipranges-allowlist").glob("*.txt")))
    with feed.open() as handle:
        report = screen_blocklist(handle, allow)
    assert len(report.accepted) + report.refused_total == 120_430
    assert report.refused_total == 66
    assert report.refused == {
        "protected (googlebot_ipv4.txt)": 34,
        "protected (statuscake_ipv4.txt)": 18,
        "protected (bing_ipv4.txt)": 12,
        "protected (duckduckbot_ipv4.txt)": 1,
        "protected (apple-proxy_ipv4_merged.txt)": 1,
    }


def test_real_ipsum_feed_without_allowlist_accepts_everything() -> None:
    with shared_data("ipsum", "ipsum.txt").open() as handle:
        report = screen_blocklist(handle, NONE)
    assert len(report.accepted) == 120_430
    assert report.refused_total == 0


def test_public_resolvers_are_protected(tmp_path: Path) -> None:
    allow = load_ranges([shared_data("public-dns-resolvers", "public_dns_resolvers.txt")])
    report = screen_blocklist(["8.8.8.8", "1.1.1.1", "9.9.9.9", "45.0.0.1"], allow)
    assert report.accepted == ("45.0.0.1",)
