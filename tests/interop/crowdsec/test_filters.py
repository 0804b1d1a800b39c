import pytest

from shieldwall.interop.crowdsec.decision import Published
from shieldwall.interop.crowdsec.filters import (
    MAX_ITEMS,
    FilterError,
    parse_bool,
    query_filter,
    stream_filter,
)

SSH = Published(1, "203.0.113.7", 2000.0, "hub", "ssh-bruteforce")
NET = Published(2, "198.51.100.0/24", 2000.0, "hub", "http-probing")
V6 = Published(3, "2001:db8::/64", 2000.0, "local", "ssh-bruteforce")
FW = "crowdsec-firewall-bouncer/v0.0.25"


def test_scopes_default_to_ip_and_range_and_match_case_insensitively() -> None:
    assert all(stream_filter({}, "").matches(e) for e in (SSH, NET, V6))
    only_ip = stream_filter({"scopes": "Ip"}, "")
    assert only_ip.matches(SSH) and not only_ip.matches(NET)


def test_origins_match_exactly() -> None:
    flt = stream_filter({"origins": "local"}, "")
    assert flt.matches(V6) and not flt.matches(SSH)


def test_scenario_substrings_include_and_exclude_case_insensitively() -> None:
    assert not stream_filter({"scenarios_containing": "SSH"}, "").matches(NET)
    assert stream_filter({"scenarios_containing": "probe,SSH"}, "").matches(SSH)
    assert not stream_filter({"scenarios_not_containing": "brute"}, "").matches(SSH)
    assert stream_filter({"scenarios_not_containing": "brute"}, "").matches(NET)


def test_the_debian_firewall_bouncer_is_never_sent_ranges_and_that_is_recorded() -> None:
    flt = stream_filter({}, FW)
    assert flt.matches(SSH) and not flt.matches(NET) and not flt.matches(V6)
    assert flt.ranges_withheld
    # Asking for IPs only is the client's choice, not a withholding.
    assert not stream_filter({"scopes": "ip"}, FW).ranges_withheld
    assert not stream_filter({}, "python-bouncer/0.0.5").ranges_withheld


def test_unknown_parameters_are_ignored() -> None:
    assert stream_filter({"community_pull": "false", "additional_pull": "false"}, "").matches(SSH)


@pytest.mark.parametrize("params", [
    {"scopes": "x" * 5000},
    {"origins": ",".join(["a"] * (MAX_ITEMS + 1))},
    {"ip": "evil.example"},
    {"range": "10.0.0.0/33"},
    {"contains": "maybe"},
])
def test_hostile_parameters_are_refused_with_a_reason(params: dict[str, str]) -> None:
    with pytest.raises(FilterError):
        query_filter(params)


def test_go_booleans() -> None:
    assert parse_bool({"startup": "true"}, "startup", False)
    assert parse_bool({"startup": "1"}, "startup", False)
    assert not parse_bool({"startup": "False"}, "startup", True)
    assert parse_bool({}, "startup", True)


def test_an_ip_query_finds_the_ranges_containing_it() -> None:
    flt = query_filter({"ip": "198.51.100.9"})
    assert flt.matches(NET) and not flt.matches(SSH) and not flt.matches(V6)
    assert query_filter({"ip": "203.0.113.7"}).matches(SSH)
    assert query_filter({"ip": "2001:db8::5"}).matches(V6)


def test_contains_false_finds_what_lies_within_the_range() -> None:
    inside = query_filter({"range": "203.0.113.0/24", "contains": "false"})
    assert inside.matches(SSH) and not inside.matches(NET)
    assert not query_filter({"range": "203.0.113.0/24"}).matches(SSH)


def test_value_scope_and_type_filters() -> None:
    assert query_filter({"value": "203.0.113.7/32"}).matches(SSH)
    assert not query_filter({"value": "203.0.113.8"}).matches(SSH)
    assert query_filter({"scope": "range"}).matches(NET)
    assert not query_filter({"scope": "range"}).matches(SSH)
    assert query_filter({"type": "ban"}).matches(SSH)
    assert not query_filter({"type": "captcha"}).matches(SSH)
