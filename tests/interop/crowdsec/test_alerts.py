import pytest

from shieldwall.interop.crowdsec.alerts import (
    Alert,
    Skipped,
    Source,
    parse_go_time,
    scenario_name,
    signal_of,
)
from shieldwall.signals.envelope import SCENARIO_NAME

NOW = 1_800_000_000.0


def alert(**fields: object) -> Alert:
    base: dict[str, object] = {
        "scenario": "crowdsecurity/ssh-bf", "scenario_hash": "4441dcff", "scenario_version": "0.1",
        "events_count": 6, "start_at": "2026-01-24T15:32:31Z", "stop_at": "2026-01-24T15:32:36Z",
        "message": "Ip 179.43.183.98 performed 'crowdsecurity/ssh-bf'",
        "source": Source(scope="Ip", value="179.43.183.98", ip="179.43.183.98"),
    }
    base.update(fields)
    return Alert(**base)  # type: ignore[arg-type]


def test_an_alert_becomes_a_detection_with_its_scenario_hash_as_evidence() -> None:
    signal = signal_of(alert(), now=NOW)
    assert not isinstance(signal, Skipped)
    assert (signal.kind, signal.target, signal.scenario, signal.count) == (
        "detection", "179.43.183.98", "crowdsecurity.ssh-bf", 6)
    assert signal.last_seen - signal.first_seen == 5
    assert "scenario_hash 4441dcff" in signal.evidence[0]


def test_simulated_alerts_never_become_signals() -> None:
    assert signal_of(alert(simulated=True), now=NOW) == Skipped("simulated")


def test_allowlisted_targets_are_not_reported() -> None:
    made = signal_of(alert(), now=NOW, allowed=lambda t: t == "179.43.183.98")
    assert made == Skipped("allowlisted on this member")


def test_ipv6_sources_are_keyed_by_prefix_like_the_agents_own() -> None:
    made = signal_of(alert(source=Source(scope="Ip", value="2001:db8::7")), now=NOW)
    assert not isinstance(made, Skipped) and made.target == "2001:db8::/64"
    ranged = signal_of(alert(source=Source(scope="Range", value="45.33.100.0/24")), now=NOW)
    assert not isinstance(ranged, Skipped) and ranged.target == "45.33.100.0/24"


@pytest.mark.parametrize("source", [
    None,
    Source(scope="Country", value="FR"),
    Source(scope="Ip", value="evil.example"),
    Source(scope="Ip", value="10.0.0.1 203.0.113.9"),
    Source(scope="Range", value="45.33.100.7/24"),
])
def test_sources_that_are_not_an_address_are_skipped(source: Source | None) -> None:
    assert isinstance(signal_of(alert(source=source), now=NOW), Skipped)


@pytest.mark.parametrize("name", [
    "crowdsecurity/ssh-bf", "LePresidente/ssh-bad-keyexchange-bf", "manual 'ban' from 'x'",
    "a" * 300, "///", "crowdsecurity/http-cve-2021-41773", "Ünïcode/ßcenario",
])
def test_scenario_names_always_fit_what_the_hub_accepts(name: str) -> None:
    assert SCENARIO_NAME.fullmatch(scenario_name(name))


def test_hostile_counts_and_times_stay_bounded() -> None:
    late = "2026-01-24T15:32:36.123456789+01:00"
    made = signal_of(alert(events_count=-5, start_at="garbage", stop_at=late), now=NOW)
    assert not isinstance(made, Skipped)
    assert made.count == 1 and made.first_seen == made.last_seen
    assert parse_go_time("2026-01-24T15:32:36.123456789Z") == pytest.approx(1769268756.123456)
    assert parse_go_time("yesterday") is None
