import math

from shieldwall.enforcers.block import Block
from shieldwall.interop.crowdsec.decision import Published, to_decision
from shieldwall.interop.crowdsec.delta import query_answer, reconcile, stream_answer
from shieldwall.interop.crowdsec.filters import query_filter, stream_filter

NOW = 1_000_000.0


def published(target: str, until: float = NOW + 3600, id: int = 1) -> Published:
    return Published(id, target, until, "hub", "ssh-bruteforce")


def block(target: str, until: float = NOW + 3600) -> Block:
    return Block(target, until, "hub", "ssh-bruteforce")


def test_new_blocks_are_published_and_lifted_ones_are_gone() -> None:
    changes = reconcile({"192.0.2.1": published("192.0.2.1")}, {"192.0.2.2": block("192.0.2.2")})
    assert [b.target for b in changes.put] == ["192.0.2.2"]
    assert changes.gone == ("192.0.2.1",)


def test_an_unchanged_block_is_not_republished_but_an_extension_is() -> None:
    same = reconcile({"192.0.2.1": published("192.0.2.1")}, {"192.0.2.1": block("192.0.2.1")})
    assert not same
    longer = reconcile({"192.0.2.1": published("192.0.2.1")},
                       {"192.0.2.1": block("192.0.2.1", NOW + 7200)})
    assert [b.until for b in longer.put] == [NOW + 7200]


def test_a_decision_carries_the_fields_bouncers_parse() -> None:
    d = to_decision(Published(7, "198.51.100.0/24", NOW + 14398, "hub", "http-probing"), NOW)
    assert (d.id, d.origin, d.type, d.scope, d.value, d.duration, d.scenario) == (
        7, "hub", "ban", "Range", "198.51.100.0/24", "3h59m58s", "http-probing")
    assert d.until.endswith("Z")
    forever = to_decision(Published(8, "192.0.2.1", math.inf, "", "manual"), NOW)
    assert (forever.scope, forever.origin, forever.duration, forever.until) == (
        "Ip", "shieldwall", "8760h0m0s", "")


def test_withheld_counts_the_ranges_the_client_asked_for_and_was_not_sent() -> None:
    live = [published("192.0.2.1", id=1), published("198.51.100.0/24", id=2),
            published("2001:db8::/64", id=3)]
    answer = stream_answer([("new", e) for e in live], live,
                           stream_filter({}, "crowdsec-firewall-bouncer/v0.0.25"), NOW)
    assert [d.value for d in answer.new] == ["192.0.2.1"]
    assert answer.withheld == 2
    plain = stream_answer([("new", e) for e in live], live, stream_filter({}, ""), NOW)
    assert len(plain.new) == 3 and plain.withheld == 0


def test_empty_lists_are_null_as_crowdsec_sends_them() -> None:
    body = stream_answer([], [], stream_filter({}, ""), NOW).body()
    assert body.new is None and body.deleted is None


def test_query_answers_newest_first() -> None:
    live = [published("198.51.100.0/24", id=2), published("198.51.100.9", id=5)]
    found = query_answer(live, query_filter({"ip": "198.51.100.9"}), NOW)
    assert [d.id for d in found] == [5, 2]
    assert query_answer(live, query_filter({"ip": "192.0.2.1"}), NOW) == []
