"""Pinning against a real TLS listener on loopback: a certificate is trusted by fingerprint only."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shieldwall.errors import HubError, HubUnreachable
from shieldwall.hub.identity import fingerprint, make_certificate
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.pinning import (
    Connections,
    fetch_pinned_certificate,
    pin_certificates,
    split_hub_address,
)

NOW = datetime.datetime.now(datetime.UTC)
CERT, KEY = make_certificate(["127.0.0.1"], NOW)
FP = fingerprint(CERT)


@contextlib.contextmanager
def tls_listener(tmp_path: Path) -> Iterator[str]:
    """A TLS server presenting CERT on a free loopback port, until the block ends."""
    (tmp_path / "c.pem").write_bytes(CERT)
    (tmp_path / "k.pem").write_bytes(KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
                pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        server.close()


def free_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_split_hub_address_validates_and_unbrackets() -> None:
    assert split_hub_address("[2001:db8::1]:8443") == ("2001:db8::1", 8443)
    with pytest.raises(HubError):
        split_hub_address("2001:db8::1:8443")


def test_a_certificate_is_fetched_only_when_its_fingerprint_is_pinned(tmp_path: Path) -> None:
    with tls_listener(tmp_path) as address:
        assert fingerprint(fetch_pinned_certificate(address, ["ab" * 32, FP])) == FP
        with pytest.raises(HubError, match="does not match"):
            fetch_pinned_certificate(address, "ab" * 32)


def test_join_pins_the_replicas_that_answer_and_skips_the_ones_down(tmp_path: Path) -> None:
    down = free_address()
    with tls_listener(tmp_path) as address:
        answered, pem = pin_certificates([down, address], [FP, "cd" * 32], timeout=2.0)
    assert list(answered) == [address] and fingerprint(pem) == FP == fingerprint(answered[address])
    with pytest.raises(HubUnreachable):
        pin_certificates([down], [FP], timeout=2.0)


async def test_repinning_is_only_tried_for_a_refused_certificate_with_a_pinned_set(
    tmp_path: Path,
) -> None:
    state = MemberState(tmp_path, "m", "127.0.0.1:1", FP, CERT.decode(), "k", b"\x00" * 32)
    refused = ssl.SSLCertVerificationError("[SSL: CERTIFICATE_VERIFY_FAILED] self-signed")
    single = Connections(state, 2.0)
    assert not await single.repin("127.0.0.1:1", refused)
    several = Connections(MemberState(tmp_path, "m", "127.0.0.1:1", FP, CERT.decode(), "k",
                                      b"\x00" * 32, pins=("cd" * 32,)), 2.0)
    assert not await several.repin("127.0.0.1:1", ConnectionRefusedError("refused"))
    # A refused certificate, but nothing listens there: nothing is trusted, nothing saved.
    assert not await several.repin(free_address(), refused)
    assert not (tmp_path / "member.json").exists()
    await single.aclose()
    await several.aclose()
