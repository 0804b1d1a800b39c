"""Pinned certificates for a hub reached at several addresses, and one connection pool each.

The member trusts only certificates whose SHA-256 fingerprint its join token named.
Replicas that share one certificate need nothing more. Replicas with certificates
of their own are a pinned *set*, trusted at every address at once: behind one name
(a load balancer) each connection may reach a different replica. Every hub
certificate is self-signed under the same subject name, so the TLS context matches
the presented certificate exactly against the set (see
:func:`~shieldwall.signals.member_state.pinned_context`), never by name. A pinned
certificate missing from the set (its replica was down at join) is fetched when an
address presents it and refused, and kept in the member state from then on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Sequence
from dataclasses import replace

import httpx

from shieldwall.errors import HubError, HubUnreachable
from shieldwall.signals.hub_addresses import check_address
from shieldwall.signals.member_state import (
    MemberState,
    certificate_blocks,
    certificate_fingerprints,
    pinned_context,
    save_member_state,
)

log = logging.getLogger(__name__)


def split_hub_address(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into parts (validated as a hub address)."""
    host, _, port = check_address(text).rpartition(":")
    return host.removeprefix("[").removesuffix("]"), int(port)


def fetch_pinned_certificate(
    hub: str, fingerprints: str | Sequence[str], timeout: float = 10.0
) -> str:
    """The certificate ``hub`` presents, checked against the pinned fingerprint(s) (blocking)."""
    pins = (fingerprints,) if isinstance(fingerprints, str) else tuple(fingerprints)
    host, port = split_hub_address(hub)
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except OSError as exc:
        raise HubUnreachable(f"cannot reach the hub at {hub}: {exc}") from None
    seen = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    if seen not in pins:
        raise HubError(
            f"the server at {hub} presented a certificate whose fingerprint {seen[:16]}... "
            "does not match the join token: refusing (wrong address, or interception)"
        )
    return certificate_blocks(pem)[0]


def pin_certificates(
    addresses: Sequence[str], fingerprints: Sequence[str], timeout: float = 10.0
) -> tuple[dict[str, str], str]:
    """The certificate each answering address presented, and the distinct ones together.

    Blocking. A replica that is down is skipped (its certificate is pinned when it is
    first met, see :class:`Connections`); one presenting a certificate outside the
    pinned set stops the join (wrong address, or interception).
    """
    answered: dict[str, str] = {}
    pems: dict[str, str] = {}
    errors: list[str] = []
    for address in addresses:
        try:
            pem = fetch_pinned_certificate(address, fingerprints, timeout)
        except HubUnreachable as exc:
            errors.append(str(exc))
            continue
        answered[address] = pem
        pems.setdefault(certificate_fingerprints(pem)[0], pem)
    if not answered:
        raise HubUnreachable("; ".join(errors))
    return answered, "".join(pems.values())


class Connections:
    """One HTTP client per hub address, each trusting every pinned certificate held."""

    def __init__(self, state: MemberState, timeout: httpx.Timeout | float) -> None:
        self.state = state
        self.timeout = timeout
        #: address -> (the certificates its client trusts, the client)
        self._clients: dict[str, tuple[str, httpx.AsyncClient]] = {}

    def http(self, address: str) -> httpx.AsyncClient:
        """The client for ``address`` (created on first use)."""
        entry = self._clients.get(address)
        if entry is None:
            client = httpx.AsyncClient(verify=pinned_context(self.state.cert_pem),
                                       timeout=self.timeout)
            entry = self._clients[address] = (self.state.cert_pem, client)
        return entry[1]

    async def repin(self, address: str, error: BaseException) -> bool:
        """After ``error`` at ``address``: trust a pinned certificate it presents, if missing.

        ``True`` when ``address`` should now be tried again: its client was built before
        the last certificate was learnt, or the certificate it presents was pinned but
        not held (its replica was down at join). With every pin held, a refusal is a
        certificate outside the set, and stays one.
        """
        if len(self.state.fingerprints) < 2 or "CERTIFICATE_VERIFY_FAILED" not in str(error):
            return False
        entry = self._clients.get(address)
        stale = entry is not None and entry[0] != self.state.cert_pem
        if not stale:
            if not self.state.missing_pins():
                return False
            pem = await self._missing_certificate(address)
            if pem is None:
                return False
            # A replica that was down at join: remember its certificate from now on.
            self.state = replace(self.state, cert_pem=self.state.cert_pem + pem)
            await asyncio.to_thread(save_member_state, self.state)
        old = self._clients.pop(address, None)
        if old is not None:
            await old[1].aclose()
        return True

    async def _missing_certificate(self, address: str) -> str | None:
        """A pinned certificate ``address`` presents that is not held yet, or ``None``.

        Behind a balancer each look is a new connection and may reach another replica
        than the one refused, so it looks once more than certificates are missing.
        """
        held = certificate_fingerprints(self.state.cert_pem)
        for _ in range(len(self.state.missing_pins()) + 1):
            try:
                pem = await asyncio.to_thread(
                    fetch_pinned_certificate, address, self.state.fingerprints, 5.0
                )
            except HubError as exc:
                log.warning("hub certificate at %s not trusted: %s", address, exc)
                return None
            if certificate_fingerprints(pem)[0] not in held:
                return pem
        return None

    async def aclose(self) -> None:
        """Close every client."""
        clients, self._clients = list(self._clients.values()), {}
        for _, client in clients:
            await client.aclose()


def change_addresses(
    state: MemberState, add: Sequence[str] = (), remove: Sequence[str] = (),
    timeout: float = 10.0,
) -> MemberState:
    """``state`` with addresses added (each must present a pinned certificate) and removed.

    Blocking; the caller saves the result. A certificate an added address presents
    that was pinned but missing (its replica was down at join) is kept too.
    """
    from shieldwall.signals.hub_addresses import check_addresses

    gone = set(check_addresses(remove)) if remove else set()
    kept = [a for a in state.addresses if a not in gone]
    new = [a for a in check_addresses(add) if a not in kept] if add else []
    cert_pem = state.cert_pem
    for address in new:
        pem = fetch_pinned_certificate(address, state.fingerprints, timeout)
        if certificate_fingerprints(pem)[0] not in certificate_fingerprints(cert_pem):
            cert_pem += pem
    if not kept + new:
        raise HubError("a member needs at least one hub address; add one before removing the last")
    addresses = check_addresses(kept + new)
    return replace(state, hub=addresses[0], replicas=addresses[1:], cert_pem=cert_pem)
