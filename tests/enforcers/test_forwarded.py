import pytest

from shieldwall.enforcers.forwarded import TrustedProxies, client_address
from shieldwall.errors import AddressError

PROXIES = TrustedProxies.parse(["127.0.0.1", "10.0.0.0/8", "fd00::/8"])


def test_header_is_ignored_without_trusted_proxies() -> None:
    assert client_address("192.0.2.7", ["198.51.100.1"], TrustedProxies()) == "192.0.2.7"


def test_header_is_ignored_from_an_untrusted_peer() -> None:
    assert client_address("192.0.2.7", ["198.51.100.1"], PROXIES) == "192.0.2.7"


def test_right_most_untrusted_hop_is_the_client() -> None:
    forged = "1.1.1.1, 2.2.2.2"  # written by the client itself
    header = f"{forged}, 192.0.2.7, 10.0.0.5"  # our proxies appended the rest
    assert client_address("127.0.0.1", [header], PROXIES) == "192.0.2.7"


def test_several_headers_are_one_list() -> None:
    assert client_address("10.0.0.1", ["203.0.113.1", "192.0.2.7"], PROXIES) == "192.0.2.7"


def test_ports_brackets_and_mapped_addresses_are_understood() -> None:
    assert client_address("10.0.0.1", ["192.0.2.7:5555"], PROXIES) == "192.0.2.7"
    assert client_address("10.0.0.1", ["[2001:db8::1]:443"], PROXIES) == "2001:db8::1"
    assert client_address("::ffff:10.0.0.1", ["2001:db8::1"], PROXIES) == "2001:db8::1"
    assert client_address("10.0.0.1", ['"192.0.2.7"'], PROXIES) == "192.0.2.7"


def test_garbage_where_an_address_must_be_gives_unknown() -> None:
    assert client_address("10.0.0.1", ["192.0.2.7, evil"], PROXIES) is None
    assert client_address("10.0.0.1", ["192.0.2.7, 10.0.0.9\x00"], PROXIES) is None


def test_garbage_left_of_the_client_is_never_read() -> None:
    assert client_address("10.0.0.1", ["evil, 192.0.2.7"], PROXIES) == "192.0.2.7"


def test_all_hops_trusted_gives_the_left_most_proxy() -> None:
    assert client_address("10.0.0.1", ["10.0.0.2, 10.0.0.3"], PROXIES) == "10.0.0.2"


def test_empty_hops_are_skipped_and_no_peer_is_unknown() -> None:
    assert client_address("10.0.0.1", ["192.0.2.7,, "], PROXIES) == "192.0.2.7"
    assert client_address(None, ["192.0.2.7"], PROXIES) is None
    assert client_address("unix:/run/app.sock", [], PROXIES) is None


def test_bad_proxy_configuration_is_refused() -> None:
    with pytest.raises(AddressError):
        TrustedProxies.parse(["proxy.internal"])
