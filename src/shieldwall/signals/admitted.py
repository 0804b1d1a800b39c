"""Joining a hub under a council after the council admitted this organisation by vote.

There is no join token: the organisation made its member key first (:func:`make_member_key`)
and gave the public key to a councillor, who proposed ``shieldwall council propose admit``.
Once the act is published, :func:`join_admitted` reaches the hub at the addresses given,
trusting only the certificate fingerprints given (``--pin``), asks ``POST /v1/join/admitted``
with a request signed by that key, and verifies the hub's signed welcome against the
founding charter it was given (``--charter``; see
:func:`~shieldwall.governance.admission.verify_welcome`). Only then does it write the member
state, pin the charter for the agent's council gate, and pin the arsenal root.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import msgspec

from shieldwall.errors import ConfigError, HubError, HubUnreachable
from shieldwall.governance.admission import (
    ADMITTED_JOIN,
    AdmissionRequest,
    Welcome,
    decode_welcome,
    verify_welcome,
)
from shieldwall.signals.client import problem_error
from shieldwall.signals.hub_addresses import check_addresses, check_fingerprints
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of
from shieldwall.signals.member_state import (
    STATE_FILE,
    MemberState,
    pinned_context,
    save_member_state,
    write_private,
)
from shieldwall.signals.pinning import pin_certificates
from shieldwall.signals.request_signature import sign_request

#: How long the member waits for the hub to carry out its published admission.
PATIENCE = 30.0


def make_member_key(path: Path) -> str:
    """Write a new member key (32-byte Ed25519 seed, mode 0600); returns its public key hex."""
    if path.exists():
        raise ConfigError(f"{path} already exists; a key is never overwritten")
    seed = new_seed()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, seed)
    return public_key_of(seed).hex()


def load_member_key(path: Path) -> bytes:
    """The seed in a key file from :func:`make_member_key`."""
    try:
        seed = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the member key {path}: {exc.strerror}") from None
    if len(seed) != 32:
        raise ConfigError(f"{path} is not a member key (a 32-byte Ed25519 seed from `--keygen`)")
    return seed


async def join_admitted(
    seed: bytes, addresses: Sequence[str], pins: Sequence[str], charter: str, data_dir: Path,
    clock: Callable[[], float] = time.time, patience: float = PATIENCE,
) -> MemberState:
    """Join as the member the council admitted with ``seed``'s key; see the module docstring."""
    if (data_dir / STATE_FILE).exists():
        raise HubError(f"{data_dir} already holds a membership; `shieldwall leave` first")
    addresses, pins = check_addresses(addresses), check_fingerprints(pins)
    answered, _ = await asyncio.to_thread(pin_certificates, addresses, pins)
    public_hex = public_key_of(seed).hex()
    nonce = secrets.token_hex(32)
    raw = await _ask(seed, answered, msgspec.json.encode(AdmissionRequest(nonce)), clock, patience)
    signed = decode_welcome(raw)
    verify_welcome(signed, charter, public_hex, nonce, int(clock()))
    return await _save(seed, signed.welcome, addresses, pins, data_dir)


async def _ask(seed: bytes, answered: dict[str, str], body: bytes, clock: Callable[[], float],
               patience: float) -> bytes:
    """POST the signed request to the first address that answers; wait while the hub does not
    know the key yet (the act is published, the hub carries it out within a second)."""
    key_id = key_id_of(public_key_of(seed))
    deadline = time.monotonic() + patience
    while True:
        errors: list[str] = []
        for address, pem in answered.items():
            headers = {"content-type": "application/json",
                       **sign_request(seed, key_id, "POST", ADMITTED_JOIN, clock(), body)}
            try:
                async with httpx.AsyncClient(verify=pinned_context(pem), timeout=15.0) as http:
                    response = await http.post(f"https://{address}{ADMITTED_JOIN}", content=body,
                                               headers=headers)
                break
            except (httpx.TransportError, ssl.SSLError) as exc:
                errors.append(f"cannot reach the hub at {address}: {exc}")
        else:
            raise HubUnreachable("; ".join(errors))
        if response.status_code == 200:
            return response.content
        refused = problem_error(response)
        if refused.reason != "unknown-key" or time.monotonic() >= deadline:
            if refused.reason == "unknown-key":
                raise HubError(f"{refused}: the hub knows no member with this key. Was the council's"
                               " admit act for this public key published?")
            raise refused
        await asyncio.sleep(0.5)


async def _save(seed: bytes, welcome: Welcome, addresses: Sequence[str], pins: Sequence[str],
                data_dir: Path) -> MemberState:
    # The addresses and pins given first, then those the signed welcome adds (replicas).
    every = check_addresses((*addresses, *welcome.addresses))
    fingerprints = check_fingerprints((*pins, *welcome.fingerprints))
    _, cert_pem = await asyncio.to_thread(pin_certificates, every, fingerprints)
    public = public_key_of(seed)
    state = MemberState(
        data_dir=data_dir, name=welcome.member, hub=every[0], fingerprint=fingerprints[0],
        cert_pem=cert_pem, key_id=key_id_of(public), seed=seed, replicas=every[1:],
        pins=fingerprints[1:],
    )
    save_member_state(state)
    from shieldwall.agent.council_gate import save_pinned

    save_pinned(data_dir, welcome.charter)
    if welcome.arsenal:  # the alliance shares rules: the agent bootstraps them from this root
        from shieldwall.arsenal.member import pin_arsenal

        await pin_arsenal(state, welcome.arsenal)
    return state
