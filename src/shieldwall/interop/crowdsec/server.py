"""Serving a CrowdSec-compatible app with uvicorn: loopback by default, TLS when exposed.

Bouncer keys and watcher passwords travel in every request, so a listener that
is not on loopback must terminate TLS; the operator gives the certificate.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from shieldwall.errors import ConfigError
from shieldwall.hub.config import split_host_port

DEFAULT_BOUNCER_LISTEN = "127.0.0.1:8081"
DEFAULT_GATEWAY_LISTEN = "127.0.0.1:8082"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (the only listeners allowed without TLS)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(
    app: ASGIApp, listen: str, *, tls_cert: Path | None = None, tls_key: Path | None = None,
    log_level: str = "warning",
) -> uvicorn.Server:
    """A uvicorn server for ``app`` on ``listen`` (``host:port``), not yet started."""
    host, port = split_host_port(listen, default_port=8081)
    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("give both --tls-cert and --tls-key, or neither")
    if tls_cert is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without TLS: bouncer keys and watcher passwords "
            "would cross the network in clear text; give --tls-cert and --tls-key, or listen "
            "on 127.0.0.1"
        )
    for path in (tls_cert, tls_key):
        if path is not None and not path.is_file():
            raise ConfigError(f"TLS file not found: {path}")
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", access_log=False,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        server_header=False, timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)
