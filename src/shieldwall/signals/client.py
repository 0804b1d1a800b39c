"""The member's side of the hub API: join, send signals, leave.

Usage (what the agent does)::

    state = load_member_state(Path("/var/lib/shieldwall/member"))
    async with HubClient(state) as hub:
        ack = await hub.send(signals)        # returns once the hub made it durable

Every connection trusts exactly the hub certificate pinned at join time.
:meth:`HubClient.send` seals each batch once and retries the same bytes on
network errors, so a batch whose acknowledgement was lost is applied once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ssl
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import msgspec

from shieldwall.errors import HubError, HubUnreachable, SignalError
from shieldwall.signals.envelope import DEFAULT_LIMITS, Ack, seal_envelope
from shieldwall.signals.keys import key_id_of, new_seed, public_key_of
from shieldwall.signals.member_state import (
    STATE_FILE,
    MemberState,
    SequenceCounter,
    pinned_context,
    save_member_state,
)
from shieldwall.signals.request_signature import sign_request
from shieldwall.signals.signal import Signal

#: Statuses worth retrying with the same bytes: the hub was busy or restarting.
RETRY_STATUSES = frozenset({502, 503, 504})


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
        self._http = httpx.AsyncClient(
            base_url=state.base_url, verify=state.ssl_context(), timeout=timeout
        )

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

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
        """POST sealed envelope bytes, retrying the same bytes on network errors."""
        delay = 0.2
        last_error: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            # Signed afresh on every attempt (the time moves); the envelope stays the same.
            headers = self.signed_headers("POST", "/v1/signals", raw)
            headers["content-type"] = "application/json"
            try:
                response = await self._http.post("/v1/signals", content=raw, headers=headers)
            except (httpx.TransportError, ssl.SSLError) as exc:
                last_error = exc
                continue
            if response.status_code == 429:
                # A quota: retrying now cannot help; the caller keeps the batch for later.
                raise HubError(str(problem_error(response)))
            if response.status_code in RETRY_STATUSES:
                last_error = problem_error(response)
                continue
            if response.status_code != 200:
                raise problem_error(response)
            try:
                return msgspec.json.decode(response.content, type=Ack)
            except msgspec.DecodeError as exc:
                raise HubError(f"hub sent an unreadable acknowledgement: {exc}") from None
        raise HubUnreachable(f"hub at {self.state.hub} unreachable after {self.attempts} tries: "
                       f"{last_error}")

    def signed_headers(self, method: str, target: str, body: bytes = b"") -> dict[str, str]:
        """Headers authenticating one request to ``target`` (path plus query)."""
        return sign_request(
            self.state.seed, self.state.key_id, method, target, self.clock(), body
        )

    async def request(self, method: str, target: str, body: bytes = b"") -> httpx.Response:
        """A signed request; raises :class:`SignalError` on a refusal."""
        headers = self.signed_headers(method, target, body)
        if body:
            headers["content-type"] = "application/json"
        try:
            response = await self._http.request(method, target, content=body, headers=headers)
        except (httpx.TransportError, ssl.SSLError) as exc:
            raise HubError(f"hub at {self.state.hub} unreachable: {exc}") from None
        if response.status_code >= 400:
            raise problem_error(response)
        return response

    async def leave(self) -> None:
        """Revoke this member's key at the hub and forget the membership locally."""
        await self.request("POST", "/v1/leave", b"{}")
        (self.state.data_dir / STATE_FILE).unlink(missing_ok=True)


def split_hub_address(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into parts."""
    raw = text.strip()
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = raw.rpartition(":")
    if not host or not port.isdigit():
        raise HubError(f"hub address {text!r} is not host:port")
    return host, int(port)


def fetch_pinned_certificate(hub: str, fingerprint: str, timeout: float = 10.0) -> str:
    """The hub's certificate, checked against the token's fingerprint (blocking)."""
    host, port = split_hub_address(hub)
    try:
        pem = ssl.get_server_certificate((host, port), timeout=timeout)
    except OSError as exc:
        raise HubUnreachable(f"cannot reach the hub at {hub}: {exc}") from None
    seen = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    if seen != fingerprint:
        raise HubError(
            f"the server at {hub} presented a certificate whose fingerprint {seen[:16]}... "
            "does not match the join token: refusing (wrong address, or interception)"
        )
    return pem


async def join(
    token_text: str,
    data_dir: Path,
    owns: Sequence[str] = (),
    name: str = "",
    clock: Callable[[], float] = time.time,
) -> MemberState:
    """Join the hub named in a token; writes the member state under ``data_dir``."""
    from shieldwall.hub.members import decode_token  # pure; shared token format

    token = decode_token(token_text)
    if token.expires < clock():
        raise HubError("this join token has expired; ask the hub operator for a new one")
    if (data_dir / STATE_FILE).exists():
        raise HubError(f"{data_dir} already holds a membership; `shieldwall leave` first")
    cert_pem = await asyncio.to_thread(fetch_pinned_certificate, token.hub, token.fingerprint)
    seed = new_seed()
    public = public_key_of(seed)
    body = msgspec.json.encode(
        {"secret": token.secret, "public_key": base64.b64encode(public).decode(),
         "owns": list(owns), "name": name}
    )
    async with httpx.AsyncClient(
        base_url=f"https://{token.hub}", verify=pinned_context(cert_pem), timeout=15.0
    ) as http:
        try:
            response = await http.post(
                "/v1/join", content=body, headers={"content-type": "application/json"}
            )
        except (httpx.TransportError, ssl.SSLError) as exc:
            raise HubUnreachable(f"cannot reach the hub at {token.hub}: {exc}") from None
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
    )
    save_member_state(state)
    return state
