"""The member's side of the hub API: join, send signals, leave.

Usage (what the agent does)::

    state = load_member_state(Path("/var/lib/shieldwall/member"))
    async with HubClient(state) as hub:
        ack = await hub.send(signals)        # returns once the hub made it durable

Every connection trusts exactly the hub certificate(s) pinned at join time.
:meth:`HubClient.send` seals each batch once and retries the same bytes on
network errors, so a batch whose acknowledgement was lost is applied once. A hub
run as replicas is reached at any of the member's addresses: a failed attempt
moves to the next one (:class:`~shieldwall.signals.hub_addresses.Rotation`) with
the same bytes, and the hub answers ``duplicate`` for a batch already applied.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import msgspec

from shieldwall.errors import HubError, HubUnreachable, SignalError
from shieldwall.signals.envelope import DEFAULT_LIMITS, Ack, seal_envelope
from shieldwall.signals.hub_addresses import Rotation
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of
from shieldwall.signals.member_state import (
    STATE_FILE,
    MemberState,
    SequenceCounter,
    pinned_context,
    save_member_state,
)
from shieldwall.signals.pinning import Connections, pin_certificates
from shieldwall.signals.request_signature import sign_request
from shieldwall.signals.signal import Signal

#: Statuses worth retrying with the same bytes: the hub was busy or restarting.
RETRY_STATUSES = frozenset({502, 503, 504})
#: Back-off of one address after a failed send (first wait, cap), in seconds.
SEND_BACKOFF = (0.2, 5.0)


def problem_error(response: httpx.Response) -> SignalError:
    """The hub's problem document as a :class:`SignalError` (reason + message)."""
    try:
        problem = msgspec.json.decode(response.content, type=dict[str, object])
        reason = str(problem.get("reason") or "http-" + str(response.status_code))
        detail = str(problem.get("detail") or problem.get("title") or "")
    except msgspec.DecodeError:
        reason, detail = f"http-{response.status_code}", response.text[:200]
    return SignalError(reason, f"hub refused the request ({response.status_code} {reason}): "
                               f"{detail}")


class HubClient:
    """Sends signed batches to the hub and makes signed member requests."""

    def __init__(
        self,
        state: MemberState,
        *,
        timeout: float = 10.0,
        attempts: int = 6,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.clock = clock
        self.attempts = attempts
        self._sequence = SequenceCounter(state.data_dir)
        self._lock = asyncio.Lock()
        #: Which of the hub's addresses the next request goes to.
        self.rotation = Rotation.over(state.addresses, SEND_BACKOFF)
        self._connections = Connections(state, timeout)

    @property
    def hub(self) -> str:
        """The address the next request goes to (the last one that worked)."""
        return self.rotation.addresses[self.rotation.current]

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._connections.aclose()

    async def send(self, signals: Sequence[Signal]) -> Ack:
        """Sign and send ``signals``; returns the hub's acknowledgement once durable.

        More signals than one envelope may carry are sent as several envelopes;
        the returned ack then sums them. Raises :class:`SignalError` (with the
        hub's reason) when the hub refuses, :class:`HubError` when unreachable.
        """
        size = DEFAULT_LIMITS.max_signals
        chunks = [signals[i : i + size] for i in range(0, len(signals), size)] or [signals]
        acks = [await self._send_chunk(chunk) for chunk in chunks]
        if len(acks) == 1:
            return acks[0]
        return Ack(
            status="applied",
            seq=acks[-1].seq,
            signals=sum(a.signals for a in acks),
            decisions=tuple(c for a in acks for c in a.decisions),
        )

    async def _send_chunk(self, signals: Sequence[Signal]) -> Ack:
        # One envelope at a time: sequence numbers must reach the hub in order.
        async with self._lock:
            for _ in range(3):
                raw = seal_envelope(
                    self.state.seed, self.state.key_id, self._sequence.next(self.clock()),
                    self.clock(), list(signals),
                )
                try:
                    return await self.send_sealed(raw)
                except SignalError as exc:
                    # Stale means "not applied" (a retry of an applied batch would be a
                    # duplicate), so sealing it afresh cannot apply it twice.
                    if exc.reason != "stale":
                        raise
            raise HubError("hub keeps refusing the batch as stale; check the clocks")

    async def send_sealed(self, raw: bytes) -> Ack:
        """POST sealed envelope bytes, retrying the same bytes on network errors.

        Each failed attempt moves to the hub's next address (after that address's
        back-off, when every one has failed lately).
        """
        #: Each address's last error, for a message that names them all.
        errors: dict[str, Exception] = {}
        for _ in range(self.attempts):
            address, wait = self.rotation.pick(self.clock())
            if wait > 0:
                await asyncio.sleep(wait)
            # Signed afresh on every attempt (the time moves); the envelope stays the same.
            headers = self.signed_headers("POST", "/v1/signals", raw)
            headers["content-type"] = "application/json"
            try:
                response = await self._connections.http(address).post(
                    f"https://{address}/v1/signals", content=raw, headers=headers
                )
            except (httpx.TransportError, ssl.SSLError) as exc:
                errors[address] = exc
                if not await self._connections.repin(address, exc):
                    self.rotation = self.rotation.failed(address, self.clock())
                continue
            if response.status_code in RETRY_STATUSES:
                errors[address] = problem_error(response)
                self.rotation = self.rotation.failed(address, self.clock())
                continue
            self.rotation = self.rotation.succeeded(address)
            if response.status_code == 429:
                # A quota: retrying now cannot help; the caller keeps the batch for later.
                raise HubError(str(problem_error(response)))
            if response.status_code != 200:
                raise problem_error(response)
            try:
                return msgspec.json.decode(response.content, type=Ack)
            except msgspec.DecodeError as exc:
                raise HubError(f"hub sent an unreadable acknowledgement: {exc}") from None
        if len(errors) == 1:
            ((address, error),) = errors.items()
            raise HubUnreachable(f"hub at {address} unreachable after {self.attempts} tries:"
                                 f" {error}")
        raise HubUnreachable(f"hub unreachable after {self.attempts} tries: "
                             + "; ".join(f"at {a}: {e}" for a, e in errors.items()))

    def signed_headers(self, method: str, target: str, body: bytes = b"") -> dict[str, str]:
        """Headers authenticating one request to ``target`` (path plus query)."""
        return sign_request(
            self.state.seed, self.state.key_id, method, target, self.clock(), body
        )

    async def request(self, method: str, target: str, body: bytes = b"") -> httpx.Response:
        """A signed request, tried once at each address that fails to answer.

        Raises :class:`SignalError` on a refusal, :class:`HubError` when no address answers.
        """
        errors: list[str] = []
        start, addresses = self.rotation.current, self.rotation.addresses
        for address in addresses[start:] + addresses[:start]:
            headers = self.signed_headers(method, target, body)
            if body:
                headers["content-type"] = "application/json"
            try:
                response = await self._connections.http(address).request(
                    method, f"https://{address}{target}", content=body, headers=headers
                )
            except (httpx.TransportError, ssl.SSLError) as exc:
                await self._connections.repin(address, exc)
                errors.append(f"hub at {address} unreachable: {exc}")
                self.rotation = self.rotation.failed(address, self.clock())
                continue
            self.rotation = self.rotation.succeeded(address)
            if response.status_code >= 400:
                raise problem_error(response)
            return response
        raise HubError("; ".join(errors))

    async def declare_proxies(self, proxies: Sequence[str]) -> list[str]:
        """Tell the hub the reverse proxies in front of this member (``POST /v1/proxies``).

        Returns what the hub stored (canonical, sorted); an empty list withdraws the last
        declaration. Raises :class:`SignalError` when the hub refuses it (say, a network
        wider than it takes), :class:`HubError` when no address answers.
        """
        body = msgspec.json.encode({"proxies": list(proxies)})
        response = await self.request("POST", "/v1/proxies", body)
        try:
            stored = msgspec.json.decode(response.content, type=dict[str, object])["proxies"]
        except (msgspec.DecodeError, KeyError) as exc:
            raise HubError(f"hub sent an unreadable answer to the proxy declaration: {exc}") from None
        if not isinstance(stored, list) or not all(isinstance(p, str) for p in stored):
            raise HubError("hub sent an unreadable answer to the proxy declaration")
        return stored

    async def leave(self) -> None:
        """Revoke this member's key at the hub and forget the membership locally."""
        await self.request("POST", "/v1/leave", b"{}")
        (self.state.data_dir / STATE_FILE).unlink(missing_ok=True)


async def join(
    token_text: str,
    data_dir: Path,
    owns: Sequence[str] = (),
    name: str = "",
    clock: Callable[[], float] = time.time,
) -> MemberState:
    """Join the hub named in a token; writes the member state under ``data_dir``.

    Every address in the token is asked for its certificate; the join request goes
    to the first one that answers with a pinned certificate.
    """
    from shieldwall.hub.members import decode_token  # pure; shared token format

    token = decode_token(token_text)
    if token.expires < clock():
        raise HubError("this join token has expired; ask the hub operator for a new one")
    if (data_dir / STATE_FILE).exists():
        raise HubError(f"{data_dir} already holds a membership; `shieldwall leave` first")
    answered, cert_pem = await asyncio.to_thread(
        pin_certificates, token.addresses, token.fingerprints
    )
    seed = new_seed()
    public = public_key_of(seed)
    body = msgspec.json.encode(
        {"secret": token.secret, "public_key": base64.b64encode(public).decode(),
         "owns": list(owns), "name": name}
    )
    errors: list[str] = []
    for address, pem in answered.items():
        # Each address trusted with exactly the certificate it presented (see pinning).
        async with httpx.AsyncClient(verify=pinned_context(pem), timeout=15.0) as http:
            try:
                response = await http.post(
                    f"https://{address}/v1/join", content=body,
                    headers={"content-type": "application/json"},
                )
                break
            except (httpx.TransportError, ssl.SSLError) as exc:
                errors.append(f"cannot reach the hub at {address}: {exc}")
    else:
        raise HubUnreachable("; ".join(errors))
    if response.status_code != 201:
        raise problem_error(response)
    answer = msgspec.json.decode(response.content, type=dict[str, str])
    state = MemberState(
        data_dir=data_dir,
        name=answer["name"],
        hub=token.hub,
        fingerprint=token.fingerprint,
        cert_pem=cert_pem,
        key_id=key_id_of(public),
        seed=seed,
        replicas=token.replicas,
        pins=token.pins,
    )
    save_member_state(state)
    if token.charter:  # the hub runs under a council: verify it from this founding charter
        from shieldwall.agent.council_gate import save_pinned

        save_pinned(data_dir, token.charter)
    if token.arsenal:  # the alliance shares rules: the agent bootstraps them from this root
        from shieldwall.arsenal.member import pin_arsenal

        await pin_arsenal(state, token.arsenal)
    return state
