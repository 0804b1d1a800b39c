from shieldwall.addresses import IntervalIndex, pack_address
from shieldwall.enforcers.lookup import BlockLookup


def test_single_addresses_and_ranges_are_found() -> None:
    lookup = BlockLookup.from_targets(["192.0.2.7", "2001:db8::1", "198.51.100.0/24", "2001:db8:bad::/48"])
    assert lookup.is_blocked("192.0.2.7")
    assert not lookup.is_blocked("192.0.2.8")
    assert lookup.is_blocked("198.51.100.0")
    assert lookup.is_blocked("198.51.100.255")
    assert not lookup.is_blocked("198.51.101.0")
    assert lookup.is_blocked("2001:db8::1")
    assert lookup.is_blocked("2001:db8:bad:ffff::1")
    assert not lookup.is_blocked("2001:db8:bae::")
    assert len(lookup) == 4


def test_ipv4_mapped_client_matches_ipv4_block() -> None:
    lookup = BlockLookup.from_targets(["192.0.2.7", "198.51.100.0/24"])
    assert lookup.is_blocked("::ffff:192.0.2.7")
    assert lookup.is_blocked("::ffff:198.51.100.9")


def test_text_that_is_not_an_address_is_not_blocked() -> None:
    lookup = BlockLookup.from_targets(["0.0.0.0/8"])
    for text in ("", "unknown", "1.2.3", "192.0.2.7, 10.0.0.1", "::1::2", "\x00"):
        assert not lookup.is_blocked(text)


def test_ipv6_zone_is_ignored() -> None:
    assert pack_address("fe80::1%eth0") == pack_address("fe80::1")


def test_overlapping_and_adjacent_ranges_merge() -> None:
    index = IntervalIndex.build([(10, 20), (15, 30), (31, 40), (50, 60)])
    assert index.starts == (10, 50)
    assert index.ends == (40, 60)
    assert index.overlaps(40, 45)
    assert not index.overlaps(41, 49)
    assert index.overlaps(0, 100)
    assert not index.overlaps(0, 9)
