"""Rules of what stands between a live source and the detector (and the agent core's wiring)."""

from __future__ import annotations

import pytest

from shieldwall.addresses import parse_ranges
from shieldwall.agent.config import parse_agent_config
from shieldwall.agent.core import AgentCore, Note, Report
from shieldwall.detection.proxies import PLAUSIBLE_AGENTS, PROXY, THIS_HOST, ProxyGuard
from shieldwall.detection.scenario import default_scenarios
from shieldwall.detection.source_filter import SourceFilter
from shieldwall.errors import ConfigError
from shieldwall.events.event import Event
from shieldwall.events.packs import load_pack

NOW = 1_800_000_000.0
PROXY_ADDRESS = "192.0.2.10"
OWN = "192.0.2.1"
CLIENT = "45.33.99.7"


def failures(address: str, n: int, pid: int = 100, second: int = 0) -> bytes:
    return b"".join(
        f"2027-01-15T10:00:{second + i:02d}+00:00 host sshd[{pid + i}]: Failed password for root "
        f"from {address} port {40000 + i} ssh2\n".encode()
        for i in range(n)
    )


def guard() -> ProxyGuard:
    return ProxyGuard(parse_ranges([PROXY_ADDRESS], "proxies", widen=False),
                      parse_ranges([OWN], "own", widen=False))


def core(max_auth_tries: int = 6, **kwargs: object) -> AgentCore:
    c = AgentCore(default_scenarios(), **kwargs)  # type: ignore[arg-type]
    c.add_source("auth", [load_pack("sshd")], 2027, max_auth_tries)
    return c


def reports(commands: list[object]) -> list[Report]:
    return [c for c in commands if isinstance(c, Report)]


def test_the_agent_never_reports_a_declared_proxy_or_its_own_address() -> None:
    agent = core(guard=guard())
    for address in (PROXY_ADDRESS, OWN):
        assert reports(agent.lines("auth", failures(address, 20), NOW)) == []
    assert agent.guard.refused == {PROXY: 20, THIS_HOST: 20}
    # Anybody else is still detected.
    signals = [s for r in reports(agent.lines("auth", failures(CLIENT, 5), NOW)) for s in r.signals]
    assert [(s.target, s.scenario) for s in signals] == [(CLIENT, "ssh-bruteforce")]


def test_a_client_inside_a_declared_proxy_range_is_refused_too() -> None:
    g = ProxyGuard(parse_ranges(["198.51.100.0/24"], "proxies", widen=False))
    agent = core(guard=g)
    assert reports(agent.lines("auth", failures("198.51.100.77", 10), NOW)) == []
    assert g.refused == {PROXY: 10}


def exhausted(address: str, pid: int) -> bytes:
    return (
        f"2027-01-15T10:00:01+00:00 host sshd[{pid}]: Failed password for root from {address} port 4 ssh2\n"
        f"2027-01-15T10:00:02+00:00 host sshd[{pid}]: error: maximum authentication attempts exceeded "
        f"for root from {address} port 4 ssh2 [preauth]\n"
    ).encode()


def test_each_source_counts_an_exhausted_connection_as_its_own_max_auth_tries() -> None:
    # MaxAuthTries 6 (sshd's default): one exhausted connection stands for 6 guesses.
    assert reports(core().lines("auth", exhausted(CLIENT, 7), NOW))
    # A server with MaxAuthTries 2: two such connections are 4 guesses, below 5.
    strict = core(max_auth_tries=2)
    assert reports(strict.lines("auth", exhausted(CLIENT, 7) + exhausted(CLIENT, 8), NOW)) == []
    assert reports(strict.lines("auth", exhausted(CLIENT, 9), NOW))


def test_reordering_holds_events_and_a_quiet_source_releases_them() -> None:
    agent = core(reorder=60.0)
    assert reports(agent.lines("auth", failures(CLIENT, 5), NOW)) == []  # held: within the bound
    assert reports(agent.expire(NOW + 30)) == []  # not quiet for the bound yet
    released = reports(agent.expire(NOW + 61))
    assert [s.target for r in released for s in r.signals] == [CLIENT]


def test_reordering_detects_a_burst_whose_lines_come_out_of_order() -> None:
    agent = core(reorder=60.0)
    chunk = failures(CLIENT, 3, pid=100, second=40) + failures(CLIENT, 2, pid=200, second=0)
    agent.lines("auth", chunk, NOW)
    released = reports(agent.expire(NOW + 61))
    assert [s.target for r in released for s in r.signals] == [CLIENT]
    assert released[0].signals[0].first_seen < released[0].signals[0].last_seen


def access_line(address: str, agent: int) -> bytes:
    return (f'{address} - - [15/Jan/2027:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" '
            f'"Mozilla/5.0 (agent {agent})"\n').encode()


def test_an_access_log_client_with_many_user_agents_is_named_once_as_a_possible_proxy() -> None:
    agent = AgentCore(default_scenarios())
    agent.add_source("web", [load_pack("http")], 2027)
    chunk = b"".join(access_line("203.0.113.5", i) for i in range(PLAUSIBLE_AGENTS))
    notes = [c for c in agent.lines("web", chunk, NOW) if isinstance(c, Note)]
    assert [(n.event, n.fields["ip"]) for n in notes] == [("proxy.suspected", "203.0.113.5")]
    again = [c for c in agent.lines("web", chunk, NOW) if isinstance(c, Note)]
    assert again == []
    # A few user agents from one address are a household, not a proxy.
    few = b"".join(access_line("203.0.113.6", i % 3) for i in range(200))
    assert [c for c in agent.lines("web", few, NOW) if isinstance(c, Note)] == []


def test_a_source_filter_without_bound_passes_events_at_once() -> None:
    f = SourceFilter(ProxyGuard(), 0.0)
    event = Event(NOW, CLIENT, "sshd", "failed_auth", "auth_failure")
    assert f.feed([event], b"", NOW) == ([event], [])
    assert f.idle(NOW + 1000) == []


def test_the_agent_file_declares_proxies_own_addresses_reorder_and_max_auth_tries() -> None:
    config = parse_agent_config(
        '[detection]\nproxies = ["192.0.2.10", "2001:db8::/48"]\nown_addresses = ["192.0.2.1"]\n'
        'reorder = "30s"\n[[sources]]\npack = "sshd"\npath = "/var/log/auth.log"\nmax_auth_tries = 3\n'
    )
    assert config.proxies == ("192.0.2.10", "2001:db8::/48")
    assert config.own_addresses == ("192.0.2.1",)
    assert config.reorder == 30.0
    assert config.sources[0].max_auth_tries == 3
    assert parse_agent_config("").sources == ()


@pytest.mark.parametrize("text", [
    '[detection]\nproxies = ["not-an-address"]\n',
    '[detection]\nproxies = "192.0.2.10"\n',
    '[[sources]]\npack = "sshd"\npath = "/x"\nmax_auth_tries = 0\n',
    '[[sources]]\npack = "sshd"\npath = "/x"\nmax_auth_tries = "six"\n',
])
def test_hostile_agent_declarations_are_errors_that_name_the_key(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_agent_config(text)
