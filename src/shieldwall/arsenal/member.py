"""The agent's arsenal: hot-loads the alliance's rules, runs them, reports their sightings.

It hangs off :class:`~shieldwall.agent.runtime.AgentRuntime` (one line there feeds
it each source's chunks) and is enabled once ``shieldwall arsenal join`` has
pinned the alliance's root (``<data_dir>/arsenal/trust.json``). Two supervised
tasks: ``arsenal.update`` fetches and swaps the set without a restart (a refused
set is noted, the last good one keeps running), ``arsenal.report`` sends the
sightings and the CPU each rule cost. A live rule's detection also becomes a
signal for the policy and, with a ``local_block``, a block on this host; a shadow
rule's never does either.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import msgspec

from shieldwall.arsenal import active, updater
from shieldwall.arsenal.engine import Engine, detections_of
from shieldwall.arsenal.figures import RULE_ID, Sighting, SightingBatch, Usage
from shieldwall.errors import ArsenalError, GovernanceError, HubError, SignalError
from shieldwall.sources import SourceSpec

if TYPE_CHECKING:
    from shieldwall.agent.runtime import AgentRuntime
    from shieldwall.governance.state import CouncilState
    from shieldwall.signals.client import HubClient
    from shieldwall.signals.member_state import MemberState
    from shieldwall.signals.signal import Signal

TRUST = "trust.json"
ROOT = "bootstrap-root.json"
MAX_PENDING = 10_000
REPORT_EVERY = 5.0
_RULE = re.compile(RULE_ID)


class Trust(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What ``arsenal join`` pinned: the root's hash and how often to look for a new set."""

    root_sha256: str
    refresh: float = 300.0


def trust_of(folder: Path) -> Trust | None:
    """The member's arsenal trust, or ``None`` when the arsenal is not joined."""
    try:
        return msgspec.json.decode((folder / TRUST).read_bytes(), type=Trust)
    except FileNotFoundError:
        return None


class ArsenalHook:
    """See the module docstring."""

    def __init__(self, runtime: AgentRuntime) -> None:
        self.runtime = runtime
        self.folder = runtime.data_dir / "arsenal"
        self.trust = trust_of(self.folder) if runtime.member is not None else None
        year = dt.datetime.fromtimestamp(runtime.clock(), dt.UTC).year
        self.engine = Engine(year, exempt=runtime.core.detector.exempt,
                             ipv6_prefix=runtime.config.ipv6_prefix)
        self.pending: list[Sighting] = []
        self.cpu: dict[str, float] = {}
        if self.trust is not None:
            try:
                self._load(active.load(self.folder))
            except ArsenalError as exc:
                runtime.notes("arsenal.refused", {"reason": exc.reason, "error": str(exc)[:300]})

    def _load(self, current: active.ActiveSet) -> None:
        started = self.engine.load(current)
        self.runtime.notes("arsenal.loaded", {
            "version": current.version, "started": started,
            "rules": {a.rule.id: a.status for a in current.rules},
        })

    def start(self) -> None:
        """Start the update and report tasks (under the runtime's supervisor)."""
        if self.trust is None:
            return
        self.runtime.supervisor.start("arsenal.update", self._update_loop)
        self.runtime.supervisor.start("arsenal.report", self._report_loop)

    def lines(self, source: SourceSpec, chunk: bytes) -> None:
        """A chunk of one source: run the alliance rules that read its pack."""
        for rule_id in self.engine.reading(source.pack):
            began = time.thread_time()
            found = self.engine.feed(rule_id, chunk)
            self.cpu[rule_id] = self.cpu.get(rule_id, 0.0) + time.thread_time() - began
            if not found:
                continue
            for item in found:
                self.runtime.notes("arsenal.sighting", {
                    "rule": rule_id, "ip": item.sighting.target, "mode": item.sighting.mode,
                    "source": source.label,
                })
            if len(self.pending) < MAX_PENDING:
                self.pending += [msgspec.structs.replace(f.sighting, member="") for f in found]
            live = detections_of(found)
            if live:
                # Enforcing rules act like the member's own scenarios: noted, reported to the
                # policy, and blocked here at once when the scenario has a local_block.
                self.runtime.handle(functools.partial(self.runtime.core._detected, source.label, live))

    def shipped(self, signals: Iterable[Signal]) -> None:
        """The member's own scenarios' detections, as live sightings of their rule versions:
        the hub measures shipped rules with the same figures as alliance ones."""
        if self.trust is None:
            return
        for signal in signals:
            if (signal.kind == "detection" and signal.rule not in self.engine.runs
                    and _RULE.match(signal.rule) and len(signal.rule) <= 64
                    and len(self.pending) < MAX_PENDING):
                self.pending.append(Sighting(signal.rule, signal.scenario, signal.target,
                                             signal.last_seen or signal.first_seen, "live"))

    def source(self) -> updater.Source:
        """Where the set comes from: the hub, over the member's pinned TLS."""
        member = self.runtime.member
        assert member is not None  # only started for members
        return updater.Source(
            folder=self.folder, url=f"https://{member.hub}/v1/arsenal",
            bootstrap=(self.folder / ROOT).read_bytes(),
            fetcher=updater.PinnedFetcher(member.ssl_context()), council=self.council,
        )

    def council(self) -> CouncilState | None:
        """The council's state, verified from the hub's act log and the charter this member
        pinned at join (what a chair-alone trial is checked against); ``None`` without one."""
        from shieldwall.agent.council_gate import load_council_file
        from shieldwall.governance.record import ActRecord
        from shieldwall.governance.standing import standing
        from shieldwall.signals.request_signature import sign_request

        member = self.runtime.member
        assert member is not None
        target = "/v1/council/acts"
        try:
            file = load_council_file(member.data_dir)
            if file is None:
                return None
            headers = sign_request(member.seed, member.key_id, "GET", target, self.runtime.clock())
            with httpx.Client(base_url=member.base_url, verify=member.ssl_context(), timeout=10.0) as http:
                response = http.get(target, headers=headers)
            if response.status_code != 200:
                raise ArsenalError("unreachable", f"{target}: the hub answered {response.status_code}")
            records = msgspec.json.decode(response.content, type=list[ActRecord])
            known = (file.acts_seq, bytes.fromhex(file.acts_head)) if file.acts_seq else None
            return standing(records, bytes.fromhex(file.pinned), int(self.runtime.clock()), known).state
        except (GovernanceError, httpx.HTTPError, msgspec.DecodeError) as exc:
            raise ArsenalError("council", f"cannot verify the council's act log: {exc}") from None

    def fetch(self) -> active.ActiveSet | None:
        """Fetch and swap in the hub's set on disk (blocking; touches no running rule).

        Returns the new set, or ``None`` when unchanged or refused (a refusal is noted and
        the old set stays).
        """
        fetcher = None
        try:
            source = self.source()
            fetcher = source.fetcher
            current, changed = updater.update(source)
        except ArsenalError as exc:
            self.runtime.notes("arsenal.refused", {"reason": exc.reason, "error": str(exc)[:300]})
            return None
        finally:
            if isinstance(fetcher, updater.PinnedFetcher):
                fetcher.close()
        return current if changed else None

    def refresh(self) -> bool:
        """:meth:`fetch`, then run the new set (call from the agent's event loop thread)."""
        current = self.fetch()
        if current is not None:
            self._load(current)
        return current is not None

    async def _update_loop(self) -> None:
        assert self.trust is not None
        while True:
            # The download runs in a thread; the running rules change only in the loop's own
            # thread, between two chunks, so a chunk is never read by half a set.
            current = await asyncio.to_thread(self.fetch)
            if current is not None:
                self._load(current)
            else:
                await asyncio.sleep(self.trust.refresh)

    async def _report_loop(self) -> None:
        from shieldwall.signals.client import HubClient

        member = self.runtime.member
        assert member is not None
        async with HubClient(member) as hub:
            while True:
                await asyncio.sleep(REPORT_EVERY)
                await self.report(hub)

    async def report(self, hub: HubClient) -> None:
        """Send what is pending (kept for the next round when the hub does not take it)."""
        lines = self.engine.lines_read()
        usage = [Usage(rid, n, round(self.cpu.pop(rid, 0.0), 6)) for rid, n in lines.items() if n]
        sightings, self.pending = self.pending, []
        if not sightings and not usage:
            return
        body = msgspec.json.encode(SightingBatch(tuple(sightings), tuple(usage)))
        try:
            await hub.request("POST", "/v1/arsenal/sightings", body)
        except (HubError, SignalError) as exc:
            self.pending = sightings + self.pending
            self.runtime.notes("arsenal.unsent", {"sightings": len(sightings), "error": str(exc)[:200]})


def join_arsenal(data_dir: Path, root: bytes, root_sha256: str, refresh: float = 300.0) -> None:
    """Pin the alliance's arsenal root on this member (refused unless it hashes to the pin)."""
    import hashlib

    if hashlib.sha256(root).hexdigest() != root_sha256:
        raise ArsenalError("forged", "the arsenal root served does not hash to the one you were given")
    folder = data_dir / "arsenal"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ROOT).write_bytes(root)
    (folder / TRUST).write_bytes(msgspec.json.encode(Trust(root_sha256, refresh)))


async def pin_arsenal(state: MemberState, root_sha256: str, refresh: float = 300.0) -> None:
    """Fetch the arsenal's root v1 from the hub (pinned TLS) and pin it if it hashes to ``root_sha256``."""
    try:
        async with httpx.AsyncClient(verify=state.ssl_context(), timeout=10.0) as http:
            response = await http.get(f"https://{state.hub}/v1/arsenal/metadata/1.root.json")
    except httpx.HTTPError as exc:
        raise ArsenalError("unreachable", f"hub at {state.hub}: {exc}") from None
    if response.status_code != 200:
        raise ArsenalError("unreachable",
                           f"hub at {state.hub} serves no arsenal (HTTP {response.status_code})")
    join_arsenal(state.data_dir, response.content, root_sha256, refresh)
