"""The fast path agrees with the strict parser on every text, canonical or not."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from shieldwall.addresses import (
    Target,
    canonical_target,
    pack_address,
    parse_address,
    parse_network,
    parse_target,
)
from shieldwall.errors import AddressError


def strict(text: str) -> Target | None:
    """What the strict parser says ``text`` is: its canonical text and span, or ``None``."""
    try:
        network = parse_network(text)
    except AddressError:
        return None
    return Target(canonical_target(text), network.version, int(network.network_address),
                  int(network.broadcast_address), network.prefixlen)


def fast(text: str) -> Target | None:
    try:
        return parse_target(text)
    except AddressError:
        return None


def _spell(network: ipaddress.IPv4Network | ipaddress.IPv6Network, style: int) -> str:
    address = network.network_address
    if style == 1 and network.version == 6:
        base = address.exploded  # no compression: not canonical, still valid
    elif style == 2:
        base = str(address).upper()
    else:
        base = str(address)
    if network.prefixlen == network.max_prefixlen and style != 3:
        return base
    return f"{base}/{network.prefixlen}"


networks = st.one_of(
    st.builds(lambda a, p: ipaddress.IPv4Network((a, p), strict=False),
              st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda a, p: ipaddress.IPv6Network((a, p), strict=False),
              st.integers(0, 2**128 - 1), st.integers(0, 128)),
)


@given(networks, st.integers(0, 3))
def test_every_valid_spelling_gives_the_same_target_on_both_paths(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, style: int
) -> None:
    text = _spell(network, style)
    assert fast(text) == strict(text) is not None


@given(st.text(alphabet="0123456789abcdefABCDEF.:/%[]x -", max_size=48))
@example("192.0.2.7/24")
@example("01.2.3.4")
@example("::ffff:192.0.2.7")
@example("1.2.3.4/032")
@example("1.2.3.4/")
@example("::/129")
def test_any_text_is_accepted_or_refused_alike_by_both_paths(text: str) -> None:
    assert fast(text) == strict(text)


@pytest.mark.parametrize("text", ["45.13.7.9", "2001:db8::/32", "45.13.0.0/16"])
def test_canonical_texts_take_the_fast_path_unchanged(text: str) -> None:
    target = parse_target(text)
    assert target.text == text and target.low <= target.high


addresses = st.one_of(
    st.builds(ipaddress.IPv4Address, st.integers(0, 2**32 - 1)),
    st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1)),
)


@given(addresses, st.booleans())
def test_packed_client_addresses_agree_with_the_strict_parser(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, exploded: bool
) -> None:
    text = address.exploded if exploded else str(address)
    assert pack_address(text) == parse_address(text).packed


@given(st.text(max_size=40))
@example("192.0.2.7\x00")
@example("[2001:db8::1]")
def test_a_text_packs_only_when_it_is_a_plain_address(text: str) -> None:
    packed = pack_address(text)
    if packed is not None:
        assert packed == parse_address(text).packed
