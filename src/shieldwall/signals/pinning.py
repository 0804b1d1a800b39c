"""Pinned certificates for a hub reached at several addresses, and one connection pool each.

The member trusts only certificates whose SHA-256 fingerprint its join token named.
Replicas that share one certificate need nothing more. Replicas with certificates
of their own are a pinned *set*; since every hub certificate is self-signed under
the same subject name, a TLS library handed all of them at once may check a
replica's certificate against another's key and refuse it. So :class:`Connections`
keeps one HTTP client per address: it starts trusting every pinned certificate, and
when an address's certificate is refused it fetches what that address presents and,
if its fingerprint is pinned, trusts exactly that one there (remembering it in the
member state when it was missing, a replica that was down at join).
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
    """One HTTP client per hub address, each trusting the pinned certificate(s) for it."""

    def __init__(self, state: MemberState, timeout: httpx.Timeout | float) -> None:
        self.state = state
        self.timeout = timeout
        self._clients: dict[str, httpx.AsyncClient] = {}
        #: Addresses whose own pinned certificate is known: trusted alone there.
        self._own: dict[str, str] = {}

    def http(self, address: str) -> httpx.AsyncClient:
        """The client for ``address`` (created on first use)."""
        client = self._clients.get(address)
        if client is None:
            context = pinned_context(self._own.get(address, self.state.cert_pem))
            client = httpx.AsyncClient(verify=context, timeout=self.timeout)
            self._clients[address] = client
        return client

    async def repin(self, address: str, error: BaseException) -> bool:
        """After ``error`` at ``address``: trust its certificate there if it is pinned.

        ``True`` when ``address`` should now be trusted where it was refused. Only a
        certificate refusal with several fingerprints pinned is worth the extra look.
        """
        if (len(self.state.fingerprints) < 2 or address in self._own
                or "CERTIFICATE_VERIFY_FAILED" not in str(error)):
            return False
        try:
            pem = await asyncio.to_thread(
                fetch_pinned_certificate, address, self.state.fingerprints, 5.0
            )
        except HubError as exc:
            log.warning("hub certificate at %s not trusted: %s", address, exc)
            return False
        if certificate_fingerprints(pem)[0] not in certificate_fingerprints(self.state.cert_pem):
            # A replica that was down at join: remember its certificate from now on.
            self.state = replace(self.state, cert_pem=self.state.cert_pem + pem)
            await asyncio.to_thread(save_member_state, self.state)
        self._own[address] = pem
        old = self._clients.pop(address, None)
        if old is not None:
            await old.aclose()
        return True

    async def aclose(self) -> None:
        """Close every client."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
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
