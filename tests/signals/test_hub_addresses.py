"""The hub's address list: strict validation, and the choice of the next replica."""

from __future__ import annotations

import pytest

from shieldwall.errors import HubError
from shieldwall.signals.hub_addresses import (
    MAX_ADDRESSES,
    Rotation,
    check_address,
    check_addresses,
    check_fingerprints,
)

A, B, C = "10.0.0.1:8443", "10.0.0.2:8443", "hub.example.org:8443"


@pytest.mark.parametrize(("text", "canonical"), [
    ("10.0.0.1:8443", "10.0.0.1:8443"),
    ("[2001:db8::1]:8443", "[2001:db8::1]:8443"),
    ("[2001:DB8:0::1]:443", "[2001:db8::1]:443"),
    ("[::ffff:10.0.0.1]:1", "10.0.0.1:1"),
    ("Hub.Example.ORG.:65535", "hub.example.org:65535"),
    ("localhost:8443", "localhost:8443"),
])
def test_addresses_are_canonical_host_port(text: str, canonical: str) -> None:
    assert check_address(text) == canonical


@pytest.mark.parametrize("text", [
    "", " 10.0.0.1:8443", "10.0.0.1:8443\n", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0",
    "10.0.0.1:65536", "10.0.0.1:08443", "10.0.0.1:+80", "10.0.0.1:٨٠", "2001:db8::1:8443",
    "[2001:db8::1]", "[2001:db8::1]8443", "[10.0.0.1]:8443", "[fe80::1%eth0]:8443",
    "https://hub:8443", "hub/x:8443", "user@hub:8443", "hub_x:8443", "-hub:8443",
    "hub-.org:8443", "a..b:8443", "1.2.3.999:8443", "999:8443", "x" * 64 + ".org:1",
    ".".join(["a" * 63] * 4) + ":1", "hub\x00:8443", "hub :8443", "ｈｕｂ:8443",
])
def test_hostile_or_sloppy_addresses_are_refused(text: str) -> None:
    with pytest.raises(HubError):
        check_address(text)


def test_a_list_keeps_order_drops_duplicates_and_is_bounded() -> None:
    assert check_addresses([B, A, "10.0.0.2:8443", A]) == (B, A)
    with pytest.raises(HubError, match="no hub address"):
        check_addresses([])
    with pytest.raises(HubError, match="at most"):
        check_addresses([f"10.0.1.{i}:1" for i in range(MAX_ADDRESSES + 1)])


def test_fingerprints_must_be_lower_hex_sha256() -> None:
    good = "ab" * 32
    assert check_fingerprints([good, good]) == (good,)
    for bad in ("AB" * 32, "ab" * 31, "ab" * 32 + "\n", "zz" * 32, ""):
        with pytest.raises(HubError):
            check_fingerprints([good, bad])
    with pytest.raises(HubError):
        check_fingerprints([])


def test_the_rotation_stays_on_an_address_that_works() -> None:
    rotation = Rotation.over((A, B, C))
    assert rotation.pick(0.0) == (A, 0.0)
    rotation = rotation.succeeded(A)
    assert rotation.pick(100.0) == (A, 0.0)
    assert rotation.succeeded(A) is rotation  # once per decision: no new value each time


def test_a_failure_moves_to_the_next_replica_at_once() -> None:
    rotation = Rotation.over((A, B, C)).failed(A, 10.0)
    assert rotation.pick(10.0) == (B, 0.0)
    rotation = rotation.succeeded(B)
    assert rotation.pick(11.0) == (B, 0.0)  # sticky on the new one, not back to A


def test_when_every_replica_failed_the_one_whose_backoff_ends_first_is_waited_for() -> None:
    rotation = Rotation.over((A, B), backoff=(1.0, 8.0))
    rotation = rotation.failed(A, 0.0).failed(B, 0.5)
    assert rotation.pick(0.5) == (A, 0.5)
    assert rotation.pick(1.0) == (A, 0.0)


def test_backoff_grows_per_address_up_to_the_cap_and_resets_on_success() -> None:
    rotation = Rotation.over((A,), backoff=(1.0, 8.0))
    waits = []
    for _ in range(6):
        rotation = rotation.failed(A, 100.0)
        waits.append(rotation.pick(100.0)[1])
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    rotation = rotation.succeeded(A).failed(A, 100.0)
    assert rotation.pick(100.0) == (A, 1.0)


def test_a_single_name_behind_a_load_balancer_is_retried_with_backoff() -> None:
    rotation = Rotation.over((C,), backoff=(0.2, 30.0)).failed(C, 5.0)
    assert rotation.pick(5.0) == (C, pytest.approx(0.2))


def test_a_recovered_replica_is_used_again_once_its_backoff_ends() -> None:
    rotation = Rotation.over((A, B), backoff=(1.0, 8.0)).failed(A, 0.0).failed(B, 0.0)
    assert rotation.pick(2.0) == (A, 0.0)


def test_an_empty_rotation_is_refused() -> None:
    with pytest.raises(HubError):
        Rotation.over(())
