"""Reverse proxies: a declared proxy or this host is never blamed; an undeclared one is noticed."""

from __future__ import annotations

from shieldwall.addresses import parse_ranges, parse_target
from shieldwall.detection.detector import Detector
from shieldwall.detection.proxies import PROXY, THIS_HOST, ProxyGuard, UserAgentSpread
from shieldwall.detection.scenario import default_scenarios
from shieldwall.events.event import Event
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream

PROXY_ADDR = "203.0.113.10"
CLIENT = "192.0.2.5"


def guard() -> ProxyGuard:
    return ProxyGuard(parse_ranges(["203.0.113.0/28", "2001:db8:cafe::/48"], "--proxy", widen=False),
                      parse_ranges(["198.51.100.1"], "--own-address", widen=False))


def ev(key: str) -> Event:
    return Event(0.0, key, "http", "probe_secret", "http_probe")


def test_events_blaming_a_declared_proxy_or_this_host_are_refused_and_counted() -> None:
    g = guard()
    kept = g.filter([ev(PROXY_ADDR), ev(CLIENT), ev("198.51.100.1"), ev("2001:db8:cafe:1::/64")])
    assert [e.key for e in kept] == [CLIENT]
    assert g.refused == {PROXY: 2, THIS_HOST: 1}
    assert g.describe() == "3 events refused: 2 blamed a declared proxy, 1 blamed this host's own address"


def test_refusal_names_the_reason_and_lets_others_stand() -> None:
    g = guard()
    assert g.refusal("203.0.113.15") == PROXY
    assert g.refusal("203.0.113.16") is None
    assert g.refusal("198.51.100.1") == THIS_HOST
    assert not ProxyGuard() and ProxyGuard().filter([ev(PROXY_ADDR)]) == [ev(PROXY_ADDR)]


def test_a_parsed_span_is_refused_exactly_as_its_text_is() -> None:
    g = guard()
    for key in ("203.0.113.15", "203.0.113.16", "198.51.100.1", "203.0.113.0/24",
                "2001:db8:cafe:1::/64", "2001:db8::1", "::ffff:203.0.113.2"):
        span = parse_target(key)
        assert g.refusal_span(span.version, span.low, span.high) == g.refusal(span.text), key


def test_a_proxy_forwarding_an_attack_is_never_detected_while_the_client_still_is() -> None:
    lines = "".join(
        f'{ip} - - [10/Oct/2024:13:55:{i:02d} +0000] "GET /.env HTTP/1.1" 404 1 "-" "x"\n'
        for i in range(12) for ip in (PROXY_ADDR, CLIENT)
    )
    events = EventStream(load_pack("http"), year=2024).feed(lines.encode())
    found = Detector(default_scenarios()).feed(guard().filter(events))
    assert {d.key for d in found} == {CLIENT}


def _line(ip: str, agent: str) -> bytes:
    return (f'{ip} - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" "{agent}"\n').encode()


def test_an_address_with_implausibly_many_user_agents_is_named_once() -> None:
    spread = UserAgentSpread(limit=50)
    data = b"".join(_line(PROXY_ADDR, f"Mozilla/5.0 client {n}") for n in range(49))
    assert spread.observe(data) == []
    assert spread.observe(_line(PROXY_ADDR, "curl/8.0") + _line(PROXY_ADDR, "wget")) == [PROXY_ADDR]
    assert spread.observe(_line(PROXY_ADDR, "another")) == []  # never twice
    assert "declare it (--proxy)" in UserAgentSpread.warning(PROXY_ADDR)


def test_a_client_repeating_a_few_user_agents_is_not_a_proxy() -> None:
    spread = UserAgentSpread(limit=50)
    data = b"".join(_line(CLIENT, f"agent {n % 5}") for n in range(1000))
    assert spread.observe(data) == []


def test_user_agents_are_read_from_vhost_and_escaped_lines_and_the_state_is_bounded() -> None:
    spread = UserAgentSpread(limit=3, max_addresses=10)
    data = b"".join(
        b'www.example.com:443 ' + _line(PROXY_ADDR, f'a \\"{n}\\" b') for n in range(3)
    )
    assert spread.observe(data) == [PROXY_ADDR]
    spread.observe(b"".join(_line(f"192.0.2.{n}", "x") for n in range(100)))
    assert len(spread._agents) <= 10
