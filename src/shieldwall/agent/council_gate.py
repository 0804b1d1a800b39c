"""The member's side of the council: no decision reaches the core before it is verified.

A member whose join token carried a charter digest holds ``council.json`` in its data
folder: the pinned founding charter, the act log position it verified, and the
decision chain position it verified. :meth:`CouncilGate.verified` sits between the
:class:`~shieldwall.decisions.follow.DecisionFollower` and the agent core: it feeds
every decision to the pure :class:`~shieldwall.governance.verify.DecisionVerifier`,
takes the signed checkpoint the hub pushes on the stream once it caught up (or asks
for one, :data:`FALLBACK` seconds later, when none came: pages, an older hub), fetches
the act log when a checkpoint names a newer act, and yields only decisions a checkpoint signed by the
charter's hub key covers and that name a policy the council signed. Everything else
is refused with a note saying why; the blocks the member has stay enforced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from shieldwall.decisions.decision import Decision
from shieldwall.decisions.follow import DecisionFollower
from shieldwall.errors import GovernanceError, HubError
from shieldwall.governance.checkpoint import GENESIS, decode_checkpoint
from shieldwall.governance.record import ActRecord
from shieldwall.governance.standing import Standing, standing
from shieldwall.governance.verify import DecisionVerifier, Released
from shieldwall.signals.member_state import MemberState
from shieldwall.signals.request_signature import sign_request

COUNCIL_FILE = "council.json"
#: How long waiting decisions wait for the hub to push a checkpoint before the member asks.
FALLBACK = 0.25
#: Waiting decisions beyond which the member asks for a checkpoint at once.
ASK_AT = 5000
RETRY = 2.0
MAX_ACTS_BYTES = 16 * 1024 * 1024
Notes = Callable[[str, dict[str, Any]], None]


class CouncilFile(msgspec.Struct, forbid_unknown_fields=True):
    """``council.json``: what this member pinned and verified."""

    pinned: str
    acts_seq: int = 0
    acts_head: str = ""
    cursor: int = 0
    chain: str = GENESIS.hex()


def save_pinned(data_dir: Path, pinned_hex: str) -> None:
    """At join: pin the founding charter the token named (nothing verified yet)."""
    _write(data_dir, CouncilFile(pinned=pinned_hex))


def load_council_file(data_dir: Path) -> CouncilFile | None:
    """The member's council file, or ``None`` when it joined a hub without a council."""
    try:
        return msgspec.json.decode((data_dir / COUNCIL_FILE).read_bytes(), type=CouncilFile)
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError) as exc:
        raise GovernanceError("malformed", f"{data_dir / COUNCIL_FILE} is unreadable: {exc}") from None


def _write(data_dir: Path, file: CouncilFile) -> None:
    path = data_dir / COUNCIL_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(msgspec.json.encode(file))
    os.replace(tmp, path)


class CouncilGate:
    """Verifies the decision stream for one member; see the module docstring."""

    def __init__(self, member: MemberState, file: CouncilFile, notes: Notes,
                 clock: Callable[[], float]) -> None:
        self.member = member
        self.file = file
        self.notes = notes
        self.clock = clock
        self.verifier: DecisionVerifier | None = None
        self._asked = 0

    @classmethod
    def open(cls, member: MemberState, notes: Notes, clock: Callable[[], float]) -> CouncilGate | None:
        """The gate for a member that pinned a charter, else ``None`` (nothing to verify)."""
        file = load_council_file(member.data_dir)
        return None if file is None else cls(member, file, notes, clock)

    @property
    def after(self) -> int:
        """Where the follower resumes: the last verified cursor (the chain is known there)."""
        return self.file.cursor

    async def verified(self, follower: DecisionFollower) -> AsyncGenerator[Decision, None]:
        """The follower's decisions that the council's hub signed under the council's policy."""
        async with httpx.AsyncClient(base_url=self.member.base_url, verify=self.member.ssl_context(),
                                     timeout=10.0) as http:
            while self.verifier is None:
                try:
                    await self._refresh(http)
                except (GovernanceError, HubError, httpx.HTTPError) as exc:
                    self._refused(exc)
                    await asyncio.sleep(RETRY)
            pushed: list[str] = []
            arrived = asyncio.Event()

            def push(raw: str) -> None:
                pushed.append(raw)
                arrived.set()

            follower.on_checkpoint = push  # the hub pushes a checkpoint when a stream caught up
            stream = follower.__aiter__()
            upcoming: asyncio.Task[Decision] = asyncio.ensure_future(anext(stream))
            try:
                while self.verifier.incident is None:
                    if pushed:
                        raw, released = pushed.pop(0), Released()
                        arrived.clear()
                        with contextlib.suppress(GovernanceError, HubError, httpx.HTTPError):
                            released = await self._verify(http, raw.encode())
                    else:
                        released = await self._next(http, upcoming, arrived)
                        if upcoming.done():
                            try:
                                decision = upcoming.result()
                            except StopAsyncIteration:
                                return
                            upcoming = asyncio.ensure_future(anext(stream))
                            released = self.verifier.decision(decision)
                    for accepted in released.accepted:
                        yield accepted
                    self._report(released)
            finally:
                follower.on_checkpoint = None
                upcoming.cancel()
                with contextlib.suppress(BaseException):
                    await upcoming
                with contextlib.suppress(Exception):
                    await stream.aclose()  # type: ignore[attr-defined]  # follow() is a generator
            self.notes("council.incident", {"error": self.verifier.incident, "cursor": self.verifier.cursor})

    async def _next(self, http: httpx.AsyncClient, upcoming: asyncio.Task[Decision],
                    arrived: asyncio.Event) -> Released:
        """Wait for the next decision or a pushed checkpoint; ask for one if neither comes."""
        assert self.verifier is not None
        if not self.verifier.pending:
            await asyncio.wait({upcoming})
            return Released()
        if self.verifier.pending >= ASK_AT and self.verifier.last_seen >= self._asked + ASK_AT:
            # A busy stream that is never caught up: ask once per ASK_AT new decisions.
            self._asked = self.verifier.last_seen
            return await self._ask(http)
        signal = asyncio.ensure_future(arrived.wait())
        try:
            done, _ = await asyncio.wait({upcoming, signal}, timeout=FALLBACK,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            signal.cancel()
        # Neither: the hub pushed nothing (page fallback, an older hub): ask for it.
        return Released() if done else await self._ask(http)

    async def _verify(self, http: httpx.AsyncClient, raw: bytes) -> Released:
        """Release what the checkpoint ``raw`` covers; a refusal is noted, then raised."""
        assert self.verifier is not None
        try:
            signed = decode_checkpoint(raw)
            if self.verifier.needs_acts(signed):
                await self._refresh(http)
            return self.verifier.checkpoint(signed, int(self.clock()))
        except (GovernanceError, HubError, httpx.HTTPError) as exc:
            self._refused(exc)
            raise

    async def _ask(self, http: httpx.AsyncClient) -> Released:
        try:
            released = await self._verify(http, await self._get(http, "/v1/council/checkpoint"))
        except (GovernanceError, HubError, httpx.HTTPError):
            await asyncio.sleep(RETRY)  # refused (and noted): ask again later
            return Released()
        return released

    async def _refresh(self, http: httpx.AsyncClient) -> None:
        raw = await self._get(http, "/v1/council/acts")
        try:
            records = msgspec.json.decode(raw, type=list[ActRecord])
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise GovernanceError("malformed", f"the hub's act log is not valid: {exc}") from None
        known = (self.file.acts_seq, bytes.fromhex(self.file.acts_head)) if self.file.acts_seq else None
        state: Standing = standing(records, bytes.fromhex(self.file.pinned), int(self.clock()), known)
        before = self.file.acts_seq
        self.file.acts_seq, self.file.acts_head = state.state.seq, state.state.head.hex()
        if self.verifier is None:
            self.verifier = DecisionVerifier(state, self.file.cursor, bytes.fromhex(self.file.chain))
        else:
            self.verifier.standing = state
        if state.state.seq != before:
            self.notes("council.standing", {"charter": state.charter_version, "acts": state.state.seq,
                                            "policy": state.version})
        _write(self.member.data_dir, self.file)

    async def _get(self, http: httpx.AsyncClient, target: str) -> bytes:
        headers = sign_request(self.member.seed, self.member.key_id, "GET", target, self.clock())
        response = await http.get(target, headers=headers)
        if response.status_code != 200:
            raise HubError(f"{target}: the hub answered {response.status_code}: {response.text[:200]}")
        if len(response.content) > MAX_ACTS_BYTES:
            raise GovernanceError("malformed", f"{target}: more than {MAX_ACTS_BYTES} bytes")
        return response.content

    def _report(self, released: Released) -> None:
        assert self.verifier is not None
        for refusal in released.refused:
            self.notes("decision.refused", {"cursor": refusal.cursor, "target": refusal.target,
                                            "reason": refusal.reason, "error": refusal.detail})
        if released:
            self.file.cursor, self.file.chain = self.verifier.cursor, self.verifier.chain.hex()
            _write(self.member.data_dir, self.file)

    def _refused(self, exc: Exception) -> None:
        reason = exc.reason if isinstance(exc, GovernanceError) else "unreachable"
        self.notes("council.refused", {"reason": reason, "error": str(exc)[:300]})
