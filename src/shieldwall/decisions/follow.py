"""Member side of the decision stream: an async iterator of decisions, never a gap.

Usage (what the agent does)::

    follower = DecisionFollower(state, after=last_applied_cursor)
    async for decision in follower:
        apply(decision)                 # then persist decision.cursor

It connects with the pinned certificate and a signed request, resumes with
``Last-Event-ID``, treats a silent connection (no heartbeat) as dead, and when
the stream fails it falls back to fetching pages after its cursor before trying
the stream again. Cursors only grow, so it yields each decision exactly once
(per follower) in log order.

A hub run as replicas is followed at any of the member's addresses: when the
stream and the pages of one replica fail, the follower moves to the next one
(:class:`~shieldwall.signals.hub_addresses.Rotation`) and resumes from its cursor
there, so a replica's death costs neither a gap nor a repeat.

The log is complete, so a member starting from cursor 0 also receives blocks that
have since expired: apply a ``block`` only while ``until`` is in the future, and a
``lift`` to whatever block on the same target is in force.

A hub whose head (as its pages report it, read from the ledger; a replica's
heartbeat may lag a moment behind) is behind the member's cursor has lost part
of its log (a disk fault, an old backup): the cursors it hands out next are ones the member already
holds, so following on would silently skip decisions. That is an incident: the
follower logs it, records it in :attr:`DecisionFollower.incident` and stops; the
member keeps the blocks it has.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType

import httpx
import msgspec

from shieldwall.decisions.codec import DecisionPage, SSEParser, decode_page
from shieldwall.decisions.decision import Decision, decode_decision
from shieldwall.errors import HubError, SignalError
from shieldwall.signals.client import problem_error
from shieldwall.signals.hub_addresses import Rotation
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.pinning import Connections
from shieldwall.signals.request_signature import sign_request

log = logging.getLogger(__name__)

#: Refusals that retrying cannot fix: the member must re-join or fix its clock.
FATAL_REASONS = frozenset({"unknown-key", "revoked-key", "forged", "unsigned"})


class HubRegressed(HubError):
    """The hub's decision log ends before a cursor this member already applied."""


def check_head(head: int, cursor: int, hub: str) -> None:
    """Raise :class:`HubRegressed` when the hub's ``head`` is behind ``cursor``."""
    if head < cursor:
        raise HubRegressed(
            f"the hub at {hub} says its decision log ends at cursor {head}, but this member"
            f" already applied cursor {cursor}: the hub lost decisions (disk fault or an old"
            " backup). Not following it any more; blocks in force are kept. Ask the hub"
            " operator to restore the ledger or run `shieldwall hub recover`, then restart."
        )


class DecisionFollower:
    """Follows the hub's decision log from a cursor; iterate it with ``async for``."""

    def __init__(
        self,
        state: MemberState,
        after: int = 0,
        *,
        heartbeat_timeout: float = 45.0,
        page_size: int = 1000,
        backoff: tuple[float, float] = (0.2, 30.0),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        #: The cursor of the last decision yielded.
        self.cursor = after
        #: The hub's head cursor as last reported (pages and heartbeats).
        self.head = after
        self.heartbeat_timeout = heartbeat_timeout
        self.page_size = page_size
        self.backoff = backoff
        self.clock = clock
        self.connected = False
        #: Why the follower stopped on its own (a hub that went back), else ``None``.
        self.incident: str | None = None
        #: Told each signed checkpoint the hub pushes on the stream (a council's member).
        self.on_checkpoint: Callable[[str], None] | None = None
        #: Told (from, to, cursor) when the stream resumes on another of the hub's addresses.
        self.on_moved: Callable[[str, str, int], None] | None = None
        #: Told each time :attr:`connected` changes (the agent's stream report follows it).
        self.on_link: Callable[[], object] | None = None
        #: Which of the hub's addresses to follow; :attr:`hub` is the one in use.
        self.rotation = Rotation.over(state.addresses, backoff)
        #: The address whose stream last delivered an event.
        self.followed: str | None = None
        self._connections = Connections(state, httpx.Timeout(10.0, read=heartbeat_timeout))

    @property
    def hub(self) -> str:
        """The address followed now (or tried next)."""
        return self.rotation.addresses[self.rotation.current]

    async def __aenter__(self) -> DecisionFollower:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close connections."""
        await self._connections.aclose()

    def __aiter__(self) -> AsyncIterator[Decision]:
        return self.follow()

    def _headers(self, target: str) -> dict[str, str]:
        return sign_request(self.state.seed, self.state.key_id, "GET", target, self.clock())

    async def page(
        self, after: int, limit: int | None = None, address: str | None = None
    ) -> DecisionPage:
        """One page of decisions after ``after`` (no state change)."""
        address = address or self.hub
        target = f"/v1/decisions?after={after}&limit={limit or self.page_size}"
        try:
            response = await self._connections.http(address).get(
                f"https://{address}{target}", headers=self._headers(target)
            )
        except (httpx.TransportError, ssl.SSLError) as exc:
            raise HubError(f"hub at {address} unreachable: {exc}") from None
        if response.status_code != 200:
            raise problem_error(response)
        try:
            return decode_page(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise HubError(f"hub sent an unreadable page: {exc}") from None

    async def catch_up(self, address: str | None = None) -> AsyncIterator[Decision]:
        """Yield every decision after :attr:`cursor` by paging, until the head."""
        address = address or self.hub
        while True:
            page = await self.page(self.cursor, address=address)
            check_head(page.head, self.cursor, address)
            self.head = max(self.head, page.head)
            for decision in page.decisions:
                if decision.cursor > self.cursor:
                    self.cursor = decision.cursor
                    yield decision
            if not page.more:
                return

    def _link(self, connected: bool) -> None:
        self.connected = connected
        if self.on_link is not None:
            self.on_link()

    async def stream(self, address: str | None = None) -> AsyncIterator[Decision]:
        """One stream connection: yields until it ends or fails (then raises).

        The first event from the hub marks ``address`` as working in :attr:`rotation`.
        """
        address = address or self.hub
        target = "/v1/decisions/stream"
        headers = self._headers(target)
        headers["last-event-id"] = str(self.cursor)
        headers["accept"] = "text/event-stream"
        async with self._connections.http(address).stream(
            "GET", f"https://{address}{target}", headers=headers
        ) as response:
            if response.status_code != 200:
                await response.aread()
                raise problem_error(response)
            self._link(True)
            parser = SSEParser()
            try:
                async for chunk in response.aiter_raw():
                    for event in parser.feed(chunk):
                        kind = event.event
                        if kind == "checkpoint":
                            if self.on_checkpoint is not None:
                                self.on_checkpoint(event.data)
                            continue
                        if kind != "decision" and kind != "heartbeat":
                            continue
                        if self.followed != address:
                            if self.followed is not None:
                                log.warning("decision stream moved from the hub at %s to %s,"
                                            " from cursor %d", self.followed, address,
                                            self.cursor)
                                if self.on_moved is not None:
                                    self.on_moved(self.followed, address, self.cursor)
                            self.followed = address
                        self.rotation = self.rotation.succeeded(address)
                        if kind == "decision":
                            decision = decode_decision(event.data)
                            if decision.cursor > self.cursor:
                                self.cursor = decision.cursor
                                self.head = max(self.head, decision.cursor)
                                yield decision
                        else:
                            head = msgspec.json.decode(event.data, type=dict[str, int])
                            if head.get("head", 0) < self.cursor:
                                # A replica may lag the ledger a moment: the pages
                                # (read from the ledger) tell a lost log from a lag.
                                raise HubError(f"the hub at {address} is behind this member")
                            self.head = max(self.head, head.get("head", 0))
            finally:
                self._link(False)
        raise HubError("the hub closed the decision stream")

    async def follow(self) -> AsyncIterator[Decision]:
        """Decisions forever: stream, fall back to pages, reconnect with backoff.

        Raises :class:`SignalError` only for refusals retrying cannot fix
        (revoked or unknown key); ends (with :attr:`incident` set) when the hub's
        log went back behind this member's cursor.
        """
        try:
            async for decision in self._follow():
                yield decision
        except HubRegressed as exc:
            self.incident = str(exc)
            log.error("decision log incident: %s", exc)

    async def _follow(self) -> AsyncIterator[Decision]:
        while True:
            address, wait = self.rotation.pick(self.clock())
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                async for decision in self.stream(address):
                    yield decision
            except SignalError as exc:
                if exc.reason in FATAL_REASONS:
                    raise
                log.warning("decision stream refused: %s", exc)
            except HubRegressed:
                raise
            except (HubError, httpx.HTTPError, ssl.SSLError, msgspec.DecodeError,
                    msgspec.ValidationError) as exc:
                log.info("decision stream interrupted: %s", exc)
                if await self._connections.repin(address, exc):
                    continue
            # The stream failed here: back this address off (the next pick moves to
            # another replica, if there is one), then catch up by pages on this one
            # (works through proxies that break streaming).
            self.rotation = self.rotation.failed(address, self.clock())
            try:
                async for decision in self.catch_up(address):
                    yield decision
            except SignalError as exc:
                if exc.reason in FATAL_REASONS:
                    raise
                log.warning("decision pages refused: %s", exc)
            except HubRegressed:
                raise
            except HubError as exc:
                log.info("decision pages unavailable: %s", exc)
