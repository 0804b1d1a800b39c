"""Owned-range claims at join: a newcomer cannot make the alliance's targets unblockable."""

from __future__ import annotations

import pytest

from shieldwall.errors import HubError
from shieldwall.hub.join import MAX_OWNED, check_claims
from shieldwall.hub.ledger.storage import MemberRecord

ALICE = MemberRecord("alice", "k1", b"p" * 32, ("45.13.9.0/24",), 0.0)
GONE = MemberRecord("gone", "k2", b"q" * 32, ("45.20.0.0/24",), 0.0, revoked_at=1.0)


def test_claims_are_canonicalised() -> None:
    assert check_claims(["45.14.0.7/32", "2001:db8:1::/48"], [ALICE], []) == [
        "45.14.0.7", "2001:db8:1::/48"]


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        (["80.0.0.0/16"], "wider than /22"),
        (["2a00::/32"], "wider than /40"),
        (["45.13.9.7"], "owned by member 'alice'"),
        (["45.13.8.0/22"], "owned by member 'alice'"),
        (["45.66.1.1"], "blocks now"),
        ([f"46.0.{i}.0/24" for i in range(MAX_OWNED + 1)], f"at most {MAX_OWNED}"),
        ([f"46.0.{i * 4}.0/22" for i in range(17)], "more than 16384"),
        (["not-an-address"], "owns"),
    ],
)
def test_a_claim_that_would_disarm_the_alliance_is_refused(claims: list[str], match: str) -> None:
    with pytest.raises(HubError, match=match):
        check_claims(claims, [ALICE], ["45.66.0.0/16"])


def test_a_departed_members_ranges_are_free_again() -> None:
    assert check_claims(["45.20.0.0/24"], [GONE], []) == ["45.20.0.0/24"]


def test_an_invite_naming_ranges_allows_them_and_nothing_else() -> None:
    assert check_claims(["80.0.0.0/16"], [], [], invited=["80.0.0.0/15"]) == ["80.0.0.0/16"]
    with pytest.raises(HubError, match="not among the ranges the invite names"):
        check_claims(["81.0.0.0/24"], [], [], invited=["80.0.0.0/16"])
