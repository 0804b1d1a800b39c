"""Who may order a drill: the hub's key without a council; under one, its chair and no one else.

Hostile signers: the hub's key, a former chair (also one back-dating an order into its
term), a chair-to-be, another councillor, a stranger; standing orders that are forged,
expired, a former chair's, or stretched beyond what they allow.
"""

from __future__ import annotations

import msgspec
import pytest

from shieldwall.drills.authority import (
    chair_of,
    hub_refusal,
    issuer_of,
    signer_key,
    standing_refusal,
)
from shieldwall.drills.order import (
    OrderBody,
    Refusal,
    StandingBody,
    StandingOrder,
    refusal,
    sign_order,
    sign_standing,
)
from shieldwall.governance.acts import AppointChair
from shieldwall.governance.charter import charter_digest
from shieldwall.governance.standing import Standing, standing
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of
from tests.governance.conftest import DAY, START, Keys, founded

HUB_SEED = b"\x01" * 32  # the charter's hub key in tests.governance.conftest
HUB = {key_id_of(public_key_of(HUB_SEED)): public_key_of(HUB_SEED).hex()}
#: Day 40: bob chairs (alice chaired days 0-29; 30-day terms in the order alice, bob, carol).
NOW = START + 40 * DAY
HANDOVER = START + 30 * DAY


def council_of(keys: Keys, appoint: str = "") -> Standing:
    council = founded(keys)
    if appoint:
        proposal = council.propose(AppointChair(appoint), "alice", NOW - DAY)
        council.publish(council.sign(proposal, ["bob"]), NOW - DAY)
    pinned = charter_digest(council.records[0].act.effect.charter)  # type: ignore[union-attr]
    return standing(council.records, pinned, NOW)


def body(issued: int = NOW, **changes: object) -> OrderBody:
    fields: dict[str, object] = {"id": "drill-0123abcd", "target": "192.0.2.7", "issued": issued,
                                 "ttl": 120, "members": ("a", "b"), "issuer": "chair"}
    fields.update(changes)
    return OrderBody(**fields)  # type: ignore[arg-type]


def refused(result: str | Refusal) -> Refusal:
    assert isinstance(result, Refusal), result
    return result


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def council(keys: Keys) -> Standing:
    return council_of(keys)


def test_without_a_council_the_hubs_key_orders_drills_and_no_other(keys: Keys) -> None:
    order = sign_order(HUB_SEED, body(issuer="operator"))
    assert signer_key(order, None, HUB, NOW) == public_key_of(HUB_SEED).hex()
    why = refused(signer_key(sign_order(keys.seed("alice"), body()), None, HUB, NOW))
    assert why.reason == "signature" and "not the hub's" in why.detail


def test_the_chair_of_the_day_orders_a_drill(keys: Keys, council: Standing) -> None:
    assert chair_of(council, NOW) == "bob"
    order = sign_order(keys.seed("bob"), body())
    public = signer_key(order, council, HUB, NOW + 5)
    assert public == public_key_of(keys.seed("bob")).hex()
    assert isinstance(public, str) and refusal(order, {order.signature.key_id: public}, NOW + 5) is None


def test_under_a_council_the_hubs_key_may_not_order_a_drill(council: Standing) -> None:
    why = refused(signer_key(sign_order(HUB_SEED, body(issuer="operator")), council, HUB, NOW))
    assert why.reason == "chair" and "hub's key" in why.detail and "bob chairs now" in why.detail


def test_a_former_chair_may_not_order_a_drill_even_back_dated_into_its_term(
        keys: Keys, council: Standing) -> None:
    why = refused(signer_key(sign_order(keys.seed("alice"), body()), council, HUB, NOW))
    assert why.reason == "chair" and "councillor alice, who is not the chair" in why.detail
    # Issued a minute before the handover, checked a minute after: alice no longer chairs.
    late = sign_order(keys.seed("alice"), body(issued=HANDOVER - 60))
    why = refused(signer_key(late, council, HUB, HANDOVER + 60))
    assert "alice, who no longer chairs" in why.detail and "bob chairs now" in why.detail


def test_a_chair_to_be_may_not_sign_before_its_term(keys: Keys, council: Standing) -> None:
    early = sign_order(keys.seed("bob"), body(issued=HANDOVER - 60))
    why = refused(signer_key(early, council, HUB, HANDOVER + 10))
    assert "dated before bob chaired" in why.detail


def test_a_councillor_who_is_not_the_chair_or_a_stranger_may_not_order(
        keys: Keys, council: Standing) -> None:
    why = refused(signer_key(sign_order(keys.seed("carol"), body()), council, HUB, NOW))
    assert why.reason == "chair" and "carol, who is not the chair" in why.detail
    why = refused(signer_key(sign_order(new_seed(), body()), council, HUB, NOW))
    assert why.reason == "signature" and "neither the chair's nor a councillor's" in why.detail


def test_a_forged_chair_signature_is_caught_by_the_orders_own_check(
        keys: Keys, council: Standing) -> None:
    order = sign_order(keys.seed("bob"), body())
    altered = msgspec.structs.replace(order, body=body(target="192.0.2.8"))
    public = signer_key(altered, council, HUB, NOW)
    assert isinstance(public, str)
    why = refusal(altered, {altered.signature.key_id: public}, NOW)
    assert why is not None and why.reason == "signature"


def test_an_appointed_chair_orders_and_the_rotations_chair_no_longer_does(keys: Keys) -> None:
    council = council_of(keys, appoint="carol")
    assert chair_of(council, NOW) == "carol"
    assert isinstance(signer_key(sign_order(keys.seed("carol"), body()), council, HUB, NOW), str)
    why = refused(signer_key(sign_order(keys.seed("bob"), body()), council, HUB, NOW))
    assert "bob, who is not the chair (carol chairs now)" in why.detail
    # Signed by bob a minute before the appointment, checked a minute after it.
    before = sign_order(keys.seed("bob"), body(issued=NOW - DAY - 60))
    why = refused(signer_key(before, council, HUB, NOW - DAY + 60))
    assert "bob, who no longer chairs" in why.detail


# -- standing orders: scheduled drills under a council ---------------------------------

def standing_order(keys: Keys, by: str = "bob", **changes: object) -> StandingOrder:
    fields: dict[str, object] = {"id": "standing-0123abcd", "issued": NOW - DAY,
                                 "expires": NOW + 10 * DAY, "every": 3600}
    fields.update(changes)
    return sign_standing(keys.seed(by), StandingBody(**fields))  # type: ignore[arg-type]


def scheduled(mandate: StandingOrder) -> OrderBody:
    return body(issuer="standing", issued=max(NOW, mandate.body.issued))


def test_a_scheduled_drill_under_the_chairs_standing_order_runs(keys: Keys, council: Standing) -> None:
    mandate = standing_order(keys)
    order = sign_order(HUB_SEED, scheduled(mandate), mandate)
    assert signer_key(order, council, HUB, NOW) == public_key_of(HUB_SEED).hex()
    # A full period after the last scheduled drill here: allowed.
    assert isinstance(signer_key(order, council, HUB, NOW, last_scheduled=NOW - 3600), str)


@pytest.mark.parametrize(("case", "expected"), [
    ("former chair", "alice, who no longer chairs"),
    ("councillor", "carol, who is not the chair"),
    ("expired", "expired"),
    ("forged", "does not verify"),
])
def test_a_standing_order_is_refused_unless_the_chair_signed_it_and_it_holds(
        keys: Keys, council: Standing, case: str, expected: str) -> None:
    mandate = {
        "former chair": standing_order(keys, "alice", issued=START + DAY),
        "councillor": standing_order(keys, "carol"),
        "expired": standing_order(keys, expires=NOW - 60),
        "forged": msgspec.structs.replace(standing_order(keys), body=StandingBody(
            id="standing-0123abcd", issued=NOW - DAY, expires=NOW + 10 * DAY, every=60)),
    }[case]
    why = standing_refusal(mandate, council, NOW)
    assert why is not None and why.reason == "standing" and expected in why.detail, why
    order = sign_order(HUB_SEED, scheduled(mandate), mandate)
    assert refused(signer_key(order, council, HUB, NOW)).reason == "standing"


@pytest.mark.parametrize(("changes", "last", "expected"), [
    ({"members": ("a", "z")}, None, "members outside"),
    ({"stages": ("detect",)}, None, "stages or TTL"),
    ({"ttl": 300}, None, "stages or TTL"),
    ({"issued": NOW + 20 * DAY}, None, "dated outside"),
    ({"issuer": "chair"}, None, "must say so"),
    ({}, NOW - 600, "allows one every 3600 s"),
])
def test_a_scheduled_order_that_exceeds_its_standing_order_is_refused(
        keys: Keys, council: Standing, changes: dict[str, object], last: float | None,
        expected: str) -> None:
    mandate = standing_order(keys, members=("a", "b"))
    fields = {"issuer": "standing", **changes}
    order = sign_order(HUB_SEED, body(**fields), mandate)
    why = refused(signer_key(order, council, HUB, NOW, last_scheduled=last))
    assert why.reason == "standing" and expected in why.detail, why.detail


def test_a_scheduled_order_signed_by_a_stranger_or_without_a_council_is_refused(
        keys: Keys, council: Standing) -> None:
    mandate = standing_order(keys)
    stranger = sign_order(new_seed(), scheduled(mandate), mandate)
    assert refused(signer_key(stranger, council, HUB, NOW)).reason == "signature"
    hub_signed = sign_order(HUB_SEED, scheduled(mandate), mandate)
    assert refused(signer_key(hub_signed, None, HUB, NOW)).reason == "standing"


def test_the_hub_names_the_chair_in_the_report_and_refuses_what_members_refuse(
        keys: Keys, council: Standing) -> None:
    chaired = sign_order(keys.seed("bob"), body())
    assert hub_refusal(chaired, council, public_key_of(HUB_SEED), NOW) is None
    assert issuer_of(chaired, council) == "chair bob"
    mandate = standing_order(keys)
    assert issuer_of(sign_order(HUB_SEED, scheduled(mandate), mandate), council) == "standing bob"
    operator = sign_order(HUB_SEED, body(issuer="operator"))
    assert issuer_of(operator, None) == "operator"
    assert "hub's key" in (hub_refusal(operator, council, public_key_of(HUB_SEED), NOW) or "")
    altered = msgspec.structs.replace(chaired, body=body(target="192.0.2.9"))
    assert "does not verify" in (hub_refusal(altered, council, public_key_of(HUB_SEED), NOW) or "")
