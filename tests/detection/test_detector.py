"""Detection rules, with log time as an input: thresholds, windows, memory, allowlist."""

from __future__ import annotations

from shieldwall.addresses import parse_ranges
from shieldwall.detection.detection import MAX_EVIDENCE, Detection
from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import Scenario, default_scenarios, parse_scenarios
from shieldwall.events.event import Event
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream
from tests.conftest import shared_data

T0 = 1_700_000_000.0
A = "192.0.2.1"
MIN = 60.0
HOUR = 3600.0


def failure(t: float, key: str = A, user: str | None = "root", weight: int = 1,
            kind: str = "auth_failure", pack: str = "sshd") -> Event:
    return Event(t, key, pack, "failed_auth", kind, weight, user, b"line %d" % int(t))


def brute(threshold: int = 5, window: float = 10 * MIN, duration: float = 4 * HOUR) -> Scenario:
    return Scenario(name="brute", packs=frozenset({"sshd"}), kinds=frozenset({"auth_failure"}),
                    threshold=threshold, window=window, local_block=duration)  # type: ignore[arg-type]


def names(found: list[Detection]) -> list[str]:
    return [d.scenario for d in found]


def test_fifth_failure_within_window_emits_detection() -> None:
    detector = Detector([brute()])
    assert detector.feed([failure(T0 + i * MIN) for i in range(4)]) == []
    [found] = detector.feed([failure(T0 + 4 * MIN)])
    assert (found.key, found.count, found.first_seen, found.last_seen) == (A, 5, T0, T0 + 4 * MIN)
    assert found.local_block == 4 * HOUR


def test_failures_spread_beyond_window_do_not_detect() -> None:
    detector = Detector([brute()])
    assert detector.feed([failure(T0 + i * 3 * MIN) for i in range(20)]) == []


def test_window_slides_exactly_on_log_time() -> None:
    detector = Detector([brute()])
    # 5 failures spanning exactly the window count; one second more does not.
    assert detector.feed([failure(T0 + i * 150) for i in range(5)]) != []
    other = Detector([brute()])
    assert other.feed([failure(T0 + i * 150.25) for i in range(5)]) == []


def test_old_failures_slide_out_and_fresh_ones_still_detect() -> None:
    detector = Detector([brute()])
    events = [failure(T0 + i) for i in range(4)] + [failure(T0 + HOUR + i) for i in range(5)]
    [found] = detector.feed(events)
    assert found.first_seen == T0 + HOUR and found.count == 5


def test_a_detected_address_is_not_detected_again_while_it_would_be_blocked() -> None:
    detector = Detector([brute()], history=True)
    detector.feed([failure(T0 + i) for i in range(5)])
    assert detector.feed([failure(T0 + 10 + i) for i in range(50)]) == []
    [active] = detector.detections or []
    assert active.count == 55 and active.last_seen == T0 + 59
    assert len(active.evidence) == MAX_EVIDENCE
    # After the quiet period, the same address can be detected again.
    again = detector.feed([failure(T0 + 5 * HOUR + i) for i in range(5)])
    assert len(again) == 1 and again[0].first_seen == T0 + 5 * HOUR


def test_message_repeated_weight_counts_n_times() -> None:
    detector = Detector([brute()])
    [found] = detector.feed([failure(T0, weight=2), failure(T0 + 1, weight=3)])
    assert found.count == 5 and found.first_seen == T0


def test_a_heavy_line_counts_the_events_it_pushes_out_when_they_were_in_the_window() -> None:
    detector = Detector([brute()])
    [found] = detector.feed([failure(T0), failure(T0 + 1), failure(T0 + 2, weight=9)])
    assert found.count == 11 and found.first_seen == T0


def test_heavy_line_after_old_failures_counts_only_the_window() -> None:
    for sweep_between in (False, True):
        detector = Detector([brute()])
        detector.feed([failure(T0), failure(T0 + 0.5 * HOUR, weight=2)])
        if sweep_between:
            detector.sweep(T0 + HOUR)
        [found] = detector.feed([failure(T0 + HOUR - 1), failure(T0 + HOUR, weight=4)])
        assert found.count == 5 and found.first_seen == T0 + HOUR - 1


def test_slow_bruteforce() -> None:
    detector = Detector(default_scenarios())
    found = detector.feed([failure(T0 + i * 30 * MIN) for i in range(20)])
    assert names(found) == ["ssh-slow-bruteforce"]
    assert found[0].count == 20 and found[0].last_seen - found[0].first_seen == 19 * 30 * MIN


def test_credential_stuffing_counts_distinct_users() -> None:
    detector = Detector(default_scenarios())
    # One try every 7 minutes: never 5 in 10 minutes, never 20 in 12 hours.
    found = detector.feed([failure(T0 + i * 7 * MIN, user=f"user{i}") for i in range(8)])
    assert names(found) == ["ssh-credential-stuffing"]
    assert found[0].users == 8 and found[0].first_seen == T0


def test_one_user_tried_many_times_is_not_credential_stuffing() -> None:
    detector = Detector(default_scenarios())
    found = detector.feed([failure(T0 + i * 7 * MIN, user="root") for i in range(8)])
    assert found == []


def test_distinct_users_spread_beyond_the_window_do_not_add_up() -> None:
    stuffing = parse_scenarios(
        '[[scenario]]\nname="s"\npacks=["sshd"]\nkinds=["auth_failure"]\ndistinct="user"\n'
        'threshold=3\nwindow="10m"\n'
    )
    detector = Detector(stuffing)
    events = [failure(T0 + i * 6 * MIN, user=f"u{i}") for i in range(6)]
    events.append(failure(T0 + 40 * MIN, user=None))  # no user name: not counted
    assert detector.feed(events) == []
    [found] = detector.feed([failure(T0 + 31 * MIN, user="u9")])
    assert found.users == 3


def test_client_offering_several_keys_is_not_an_attacker() -> None:
    lines = []
    for conn in range(20):
        pid = 4000 + conn
        for key in ("RSA", "ECDSA", "ED25519"):
            lines.append(f"Dec 10 07:00:{conn:02d} h sshd[{pid}]: Failed publickey for alice from "
                         f"192.0.2.50 port {50000 + conn} ssh2: {key} SHA256:Zm9vYmFy")
        lines.append(f"Dec 10 07:00:{conn:02d} h sshd[{pid}]: Accepted publickey for alice from "
                     f"192.0.2.50 port {50000 + conn} ssh2: ED25519 SHA256:YmFy")
    stream = EventStream(load_pack("sshd"), year=2024)
    events = stream.feed(("\n".join(lines) + "\n").encode())
    assert Detector(default_scenarios()).feed(events) == []


def test_kinds_and_packs_no_scenario_counts_are_ignored() -> None:
    detector = Detector([brute()])
    events = [failure(T0 + i, kind="pubkey_failure") for i in range(10)]
    events += [failure(T0 + i, pack="http") for i in range(10)]
    assert detector.feed(events) == [] and detector.tracked() == 0


def test_allowlisted_cidr_is_never_detected() -> None:
    allow = parse_ranges(["192.0.2.0/24", "2001:db8:1:2::7"], "detection.allow", widen=False)
    detector = Detector([brute()], allow)
    events = [failure(T0 + i) for i in range(20)]
    events += [failure(T0 + i, key="2001:db8:1:2::/64") for i in range(20)]
    events += [failure(T0 + i, key="198.51.100.1") for i in range(5)]
    found = detector.feed(events)
    assert [d.key for d in found] == ["198.51.100.1"]
    assert detector.allowed_events == 40


def test_idle_sources_expire() -> None:
    detector = Detector(default_scenarios())
    detector.feed([failure(T0, key=f"10.0.{i // 256}.{i % 256}") for i in range(1000)])
    assert detector.tracked() >= 1000
    detector.sweep(T0 + 13 * HOUR)
    assert detector.tracked() == 0


def test_detections_leave_memory_after_their_quiet_period() -> None:
    detector = Detector([brute()])
    detector.feed([failure(T0 + i) for i in range(5)])
    assert detector.tracked() == 1
    detector.sweep(T0 + 5 * HOUR)
    assert detector.tracked() == 0


def test_memory_stays_bounded_as_log_time_moves_on() -> None:
    detector = Detector([brute()])
    peak = 0
    for minute in range(600):  # ten hours, a new address every few seconds
        detector.feed([failure(T0 + minute * MIN + s, key=f"10.{minute // 256}.{minute % 256}.{s}")
                       for s in range(0, 60, 4)])
        peak = max(peak, detector.tracked())
    # A window's worth is 10 min x 15 addresses = 150; sweeps are amortised, so
    # idle windows may linger up to as many again: never the 9,000 seen in all.
    assert peak <= 2 * 150 + 15


def test_max_keys_caps_memory() -> None:
    detector = Detector(default_scenarios(), max_keys=100)
    detector.feed([failure(T0 + i * 0.01, key=f"10.0.{i // 256}.{i % 256}", user=f"u{i}")
                   for i in range(10_000)])
    for state in detector.states:
        assert len(state.windows) <= 100 and len(state.users) <= 100


def test_no_evidence_mode_keeps_no_lines() -> None:
    detector = Detector([brute()], keep_evidence=False)
    [found] = detector.feed([failure(T0 + i) for i in range(5)])
    assert found.evidence == []


def test_evidence_is_a_bounded_sample_of_distinct_lines() -> None:
    detector = Detector([brute(threshold=8)])
    [found] = detector.feed([failure(T0 + i) for i in range(8)])
    assert found.evidence == [b"line %d" % int(T0 + i) for i in range(3, 8)]


def test_detection_json_has_the_cli_fields() -> None:
    [found] = Detector([brute()]).feed([failure(T0 + i + 0.5) for i in range(5)])
    data = found.to_json()
    assert {k: data[k] for k in ("ip", "scenario", "count", "pack")} == {
        "ip": A, "scenario": "brute", "count": 5, "pack": "sshd"
    }
    assert data["first_seen"] == "2023-11-14T22:13:20.500Z"
    whole = Detector([brute()]).feed([failure(T0 + i) for i in range(5)])[0].to_json()
    assert whole["last_seen"] == "2023-11-14T22:13:24Z"


def _replay(data: bytes, chunk_lines: int) -> list[dict[str, object]]:
    stream = EventStream(load_pack("sshd"), year=2024)
    detector = Detector(default_scenarios(), history=True)
    lines = data.splitlines(keepends=True)
    for start in range(0, len(lines), chunk_lines):
        detector.feed(stream.feed(b"".join(lines[start : start + chunk_lines])))
    return [d.to_json() for d in detector.detections or []]


def test_replay_is_deterministic() -> None:
    data = shared_data("loghub", "OpenSSH_2k.log").read_bytes()
    first = _replay(data, 2000)
    assert first, "the log holds attacks"
    assert _replay(data, 2000) == first
    assert _replay(data, 7) == first


def test_an_address_coming_back_after_a_short_quiet_period_is_detected_again() -> None:
    detector = Detector([brute(duration=10)])
    detector.feed([failure(T0 + i) for i in range(5)])
    again = detector.feed([failure(T0 + 30 + i) for i in range(5)])
    assert len(again) == 1 and again[0].first_seen == T0 + 30


def test_failures_from_a_file_replayed_after_a_later_one_do_not_join_its_window() -> None:
    detector = Detector(default_scenarios())
    later = [failure(T0 + 10 * HOUR + i, user=f"u{i}") for i in range(4)]
    earlier = [failure(T0 + i, user=f"v{i}") for i in range(4)]
    assert detector.feed(later) == []
    assert detector.feed(earlier) == []  # 4 + 4, but ten hours apart
    assert names(detector.feed([failure(T0 + 5, user="v9")])) == ["ssh-bruteforce"]


def test_files_replayed_out_of_order_within_a_window_still_give_first_before_last() -> None:
    detector = Detector([brute(window=HOUR)])
    later = [failure(T0 + 30 * MIN + i) for i in range(3)]
    earlier = [failure(T0 + i) for i in range(2)]  # an older rotated file read second
    [found] = detector.feed(later + earlier)
    assert (found.first_seen, found.last_seen) == (T0, T0 + 30 * MIN + 2)


def test_a_detection_from_the_shipped_scenarios_encodes_as_json() -> None:
    import msgspec

    [found] = Detector(default_scenarios()).feed([failure(T0 + i) for i in range(5)])
    row = msgspec.json.decode(msgspec.json.encode(found.to_json()))
    assert (row["scenario"], row["local_block"]) == ("ssh-bruteforce", 4 * HOUR)
