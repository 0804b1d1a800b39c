"""Loopback by default; anything else only over TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import threading
import time
from pathlib import Path

import httpx
import pytest

from shieldwall.errors import ConfigError
from shieldwall.hub.identity import make_certificate
from shieldwall.interop.crowdsec.bouncer_api import create_bouncer_app
from shieldwall.interop.crowdsec.journal import Journal
from shieldwall.interop.crowdsec.server import is_loopback, make_server

from .harness import free_port


@pytest.mark.parametrize("listen", ["0.0.0.0:8081", "[::]:8081", "192.0.2.10:8081", "example.org:1"])
def test_plain_http_beyond_loopback_is_refused(tmp_path: Path, listen: str) -> None:
    with pytest.raises(ConfigError, match="without TLS"):
        make_server(create_bouncer_app(tmp_path), listen)


def test_loopback_spellings() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("127.0.0.1.example.org")


def test_a_half_tls_configuration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="both"):
        make_server(create_bouncer_app(tmp_path), "0.0.0.0:8081", tls_cert=tmp_path / "c.pem")


def test_with_a_certificate_it_serves_bouncers_over_tls(tmp_path: Path) -> None:
    cert, key = make_certificate(["127.0.0.1"], dt.datetime.now(dt.UTC))
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    api_key = Journal.open(tmp_path).add_bouncer("nginx", time.time())
    port = free_port()
    server = make_server(create_bouncer_app(tmp_path), f"127.0.0.1:{port}",
                         tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem")
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        trusted = ssl.create_default_context(cadata=cert.decode())
        answer = httpx.get(f"https://127.0.0.1:{port}/v1/decisions/stream?startup=true",
                           headers={"X-Api-Key": api_key}, verify=trusted)
        assert answer.json() == {"new": None, "deleted": None}
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{port}/health")  # an untrusted certificate
    finally:
        server.should_exit = True
        thread.join(10)
