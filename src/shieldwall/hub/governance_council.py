"""The hub under a charter: the gate on deciding, the acts it carries out, and its checkpoints.

``hub.toml`` names the council's folder (``council``, the folder ``shieldwall council
publish`` writes) and pins its founding charter (``charter``, the digest). The hub
then:

- verifies the act log from the pinned charter (:func:`~shieldwall.governance.standing.standing`)
  whenever it changes, and at least every :data:`RECHECK` seconds (a charter can expire);
- refuses to decide while its policy file, never-block list or identity is not the one
  the council named: new envelopes are answered 503 with the reason (members keep
  them queued), ``/readyz`` says why, the log too; decisions already made keep flowing;
- carries out each published act once, in one transaction with its journal record
  (:meth:`~shieldwall.hub.ledger.storage.Ledger.carry_out`; on PostgreSQL fenced by the
  leader's epoch): expulsion revokes the key in the ledger and ends the member's open
  streams at once; admission registers the key and the ranges the act names (the
  member then joins, see :mod:`.admitted`); a wide range becomes a block; a policy,
  never-block or charter change is picked up from the files;
- stamps every new decision with the policy version in force, hashes its decision log
  into the chain and signs a checkpoint of its head (one signature per new head), which
  every caught-up stream pushes (:meth:`HubCouncil.seal`) and members may ask for.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import msgspec

from shieldwall.agent.supervise import Supervisor
from shieldwall.decisions.decision import Decision
from shieldwall.errors import ConfigError, GovernanceError, HubError
from shieldwall.governance import store
from shieldwall.governance.acts import (
    Admit,
    CharterChange,
    Expel,
    NeverBlockChange,
    PolicyChange,
    WideRange,
    kind_of,
)
from shieldwall.governance.charter import charter_digest
from shieldwall.governance.checkpoint import (
    GENESIS,
    Checkpoint,
    SignedCheckpoint,
    chain_over,
    encode_checkpoint,
    sign_checkpoint,
)
from shieldwall.governance.proposals import proposal_id
from shieldwall.governance.record import ActRecord
from shieldwall.governance.standing import Standing, hub_problem, standing
from shieldwall.governance.state import replay
from shieldwall.hub.config import CONFIG_FILE, HubConfig
from shieldwall.hub.identity import IDENTITY_FILE, write_private
from shieldwall.hub.join import check_claims
from shieldwall.hub.ledger.postgres.decision_log import FencedError
from shieldwall.hub.ledger.storage import (
    DecisionRecord,
    JournalEntry,
    Ledger,
    MemberChange,
    MemberRecord,
    WriteGroup,
)
from shieldwall.signals.keys import key_id_of, public_key_of

if TYPE_CHECKING:
    from shieldwall.decisions.feed import Feed
    from shieldwall.hub.policy_config import PolicyConfig
    from shieldwall.hub.protections import Protections

log = logging.getLogger("shieldwall.hub.council")

RECHECK = 5.0
WATCH = 0.5
#: The journal kind of the hub's record of each act it carried out.
JOURNAL_KIND = "council"
CHAIN_FILE = "council-chain.json"
#: ``until`` of a wide-range block the council set without an end (a century).
UNTIL_LIFTED = 100 * 365 * 86400.0


class Governed(Protocol):
    """What the council drives: the hub's Writer, or a PostgreSQL replica's desk.

    Setting ``governed`` closes the writer's gate until the council read its act log; on
    a replica the desk hands it to the Writer of every leadership.
    """

    governed: HubCouncil | None

    def replace_policy(self, config: PolicyConfig, base: Protections) -> None: ...

    def membership_changed(self) -> None: ...


def always() -> bool:
    """A single hub always carries out acts (it is the only process writing its ledger)."""
    return True


class Carried(msgspec.Struct, forbid_unknown_fields=True):
    """The hub's journal record of one act it carried out: which act, its signers, its effect."""

    seq: int
    act: str
    kind: str
    signed_by: tuple[str, ...]
    effect: str


_carried = msgspec.json.Decoder(Carried)


class _ChainPosition(msgspec.Struct, forbid_unknown_fields=True):
    cursor: int
    chain: str


def file_sha256(path: Path | None) -> str:
    """Hex SHA-256 of a file's bytes (of no bytes for ``None``)."""
    if path is None:
        return hashlib.sha256(b"").hexdigest()
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def never_block_sha256(paths: tuple[Path, ...]) -> str:
    """The digest of the hub's never-block list, as ``council init --never-block FILE`` takes it."""
    if len(paths) > 1 or any(p.is_dir() for p in paths):
        raise ConfigError("under a council the hub's never-block list must be one file (the one"
                          " the council voted for by its SHA-256), not several or a folder")
    return file_sha256(paths[0] if paths else None)


def attach_council(data_dir: Path, folder: Path) -> str:
    """Put the hub in ``data_dir`` under the council in ``folder``: pin it in ``hub.toml``.

    Returns the founding charter's digest. The act log is verified first, so a hub is
    never pinned to a council whose own record does not hold.
    """
    records = store.read_records(folder)
    if not records or not isinstance(records[0].act.effect, CharterChange):
        raise ConfigError(f"{folder} holds no founded council (`shieldwall council init`, then publish)")
    replay(records)
    pinned = charter_digest(records[0].act.effect.charter).hex()
    path = data_dir / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    if re.search(r"^\s*(council|charter)\s*=", text, re.MULTILINE):
        raise ConfigError(f"{path} already names a council; edit it by hand to change councils")
    text += ("# The council this hub runs under: it decides only under the charter's policy.\n"
             f"council = {msgspec.json.encode(str(folder.resolve())).decode()}\n"
             f'charter = "{pinned}"\n')
    path.write_text(text, encoding="utf-8")
    return pinned


def council_standing(config: HubConfig, now: float, known: tuple[int, bytes] | None = None
                     ) -> tuple[list[ActRecord], Standing]:
    """The act log in the hub's council folder, verified from the charter ``hub.toml`` pins."""
    if config.council_dir is None:
        raise ConfigError("this hub has no council (hub.toml: council = FOLDER, charter = DIGEST)")
    records = store.read_records(config.council_dir)
    return records, standing(records, bytes.fromhex(config.charter), int(now), known)


def gate_problem(config: HubConfig, state: Standing) -> str | None:
    """Why this hub may not decide under ``state`` (its files and identity checked now)."""
    identity = public_key_of((config.data_dir / IDENTITY_FILE).read_bytes()).hex()
    try:
        never_block = never_block_sha256(config.never_block)
    except ConfigError as exc:
        return str(exc)
    return hub_problem(state, file_sha256(config.policy_file), never_block, identity)


def version_for(config: HubConfig, now: float) -> str:
    """The policy version an operator's decision (``hub lift``) is stamped with; "" without a council.

    Raises :class:`HubError` when the hub may not decide (the same gate as serving).
    """
    if config.council_dir is None:
        return ""
    try:
        _, state = council_standing(config, now)
    except GovernanceError as exc:
        raise HubError(f"the council's act log is refused: {exc}") from None
    problem = gate_problem(config, state)
    if problem is not None:
        raise HubError(f"refusing to decide: {problem}")
    return state.version


class HubCouncil:
    """One serving hub's governance: see the module docstring."""

    def __init__(self, config: HubConfig, ledger: Ledger, feed: Feed, writer: Governed,
                 clock: Callable[[], float], leading: Callable[[], bool] = always) -> None:
        self.config = config
        # Every replica of a PostgreSQL hub gates, stamps and checkpoints (the chain is a
        # function of the shared log); only the one leading carries out acts, once.
        self.leading = leading
        self.ledger = ledger
        self.feed = feed
        self.writer = writer
        self.clock = clock
        self.seed = (config.data_dir / IDENTITY_FILE).read_bytes()
        self.standing: Standing | None = None
        self.records: list[ActRecord] = []
        self._problem: str | None = "the council's act log has not been read yet"
        self._seen: tuple[object, ...] = ()
        self._checked = 0.0
        self.cursor, self.chain = 0, GENESIS
        self._signed: SignedCheckpoint | None = None
        self._lock = asyncio.Lock()
        self._refreshing = asyncio.Lock()
        self.supervisor = Supervisor()
        writer.governed = self  # the gate is closed until start() read the log

    # -- what the writer asks ----------------------------------------------------
    def problem(self) -> str | None:
        """Why the hub refuses to decide now, or ``None``."""
        return self._problem

    @property
    def version(self) -> str:
        """The policy version stamped on new decisions."""
        return "" if self.standing is None else self.standing.version

    def published(self, decisions: list[Decision]) -> None:
        """The writer published ``decisions``: extend the chain in memory when they follow on."""
        fresh = [d for d in decisions if d.cursor > self.cursor]
        if fresh and fresh[0].cursor == self.cursor + 1:
            self.chain = chain_over(self.chain, fresh)
            self.cursor = fresh[-1].cursor
        # Otherwise (another process wrote in between) checkpoint() reads the gap back.

    # -- life ----------------------------------------------------------------------
    async def start(self) -> None:
        """Resume the chain, read the act log, and watch it."""
        await self._resume_chain()
        await self.refresh(force=True)
        self.feed.seal = self.seal  # caught-up streams push the signed checkpoint
        self.supervisor.start("hub.council", self._watch)

    async def stop(self) -> None:
        """Stop watching and remember the chain position."""
        self.feed.seal = None
        await self.supervisor.stop()
        self._save_chain()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH)
            await self.refresh()

    def _fingerprint(self) -> tuple[object, ...]:
        paths = [self.config.council_dir / store.LOG if self.config.council_dir else None,
                 self.config.policy_file, *self.config.never_block]
        seen: list[object] = []
        for path in paths:
            try:
                info = path.stat() if path is not None else None
            except OSError:
                info = None
            seen.append(None if info is None else (info.st_size, info.st_mtime_ns, info.st_ino))
        seen.append(self.leading())  # a replica that starts leading carries out what is left
        return tuple(seen)

    async def refresh(self, force: bool = False) -> None:
        """Re-verify the act log and the hub's files if they changed (or every RECHECK s)."""
        async with self._refreshing:  # the watch and a request (an admitted join) may both ask
            await self._refresh(force)

    async def _refresh(self, force: bool) -> None:
        now = self.clock()
        seen = self._fingerprint()
        if not force and seen == self._seen and now - self._checked < RECHECK:
            return
        previous, self._seen, self._checked = self._seen, seen, now
        before = self.standing
        known = None if before is None else (before.state.seq, before.state.head)
        try:
            records, state = council_standing(self.config, now, known)
        except (GovernanceError, ConfigError) as exc:
            self._close(f"the council's act log in {self.config.council_dir} is refused: {exc}")
            return
        self.records, self.standing = records, state
        await self._carry_out(records, now)
        problem = gate_problem(self.config, state)
        if problem is not None:
            self._close(problem)
            return
        changed = seen != previous or before is None or before.state.seq != state.state.seq
        if before is not None and (changed or self._problem is not None):
            # A policy, never-block or charter change the files now match: run them (the
            # writer loaded the files once at start, so the first pass needs nothing).
            self.writer.replace_policy(self.config.policy(), self.config.protections())
        if self._problem is not None:
            log.info("deciding under the council's policy %s", state.version)
        self._problem = None

    def _close(self, problem: str) -> None:
        if problem != self._problem:
            log.error("refusing to decide: %s", problem)
        self._problem = problem

    # -- acts ------------------------------------------------------------------------
    async def _carry_out(self, records: list[ActRecord], now: float) -> None:
        """Carry out every act not yet carried out; each commits with its journal record.

        On PostgreSQL the commit is fenced by this replica's leader epoch: a leader deposed
        while carrying an act out is refused (nothing written) and the new leader, which
        reads the journal only once its epoch began, carries it out exactly once.
        """
        if not self.leading():
            return
        last = await self.ledger.journal(JOURNAL_KIND, limit=1, newest_first=True)
        applied = _carried.decode(last[0].body).seq if last else 0
        try:
            for record in records[applied:]:
                await self._carry_out_one(record, now)
        except FencedError as exc:
            log.warning("council acts left to the new leader: %s", exc)

    async def _carry_out_one(self, record: ActRecord, now: float) -> None:
        effect = record.act.effect
        entry = Carried(seq=record.seq, act=proposal_id(record.act), kind=kind_of(record.act),
                        signed_by=tuple(s.key_id for s in record.signatures), effect="recorded")
        if isinstance(effect, WideRange):
            await self._wide_range(effect, entry, now)  # its record is written with its decision
            return
        if isinstance(effect, CharterChange | PolicyChange | NeverBlockChange):
            entry.effect = "in force once the hub's files match (see /readyz)"
        change = MemberChange()
        try:
            change = await self._membership(record, entry)
            done = await self.ledger.carry_out(self._entry(entry, now), change)
        except FencedError:
            raise
        except HubError as exc:  # the change is refused: the act is recorded, with why
            log.warning("council act %d: %s", record.seq, exc)
            entry.effect = f"not {'revoked' if isinstance(effect, Expel) else 'registered'}: {exc}"
            done = await self.ledger.carry_out(self._entry(entry, now), MemberChange())
            change = MemberChange()
        if not done:
            return  # carried out already (by this replica or another)
        if change.revoke:
            # The key is refused from now on (every request reads the ledger); the open
            # streams end here, without waiting for the writer's next membership sweep.
            cut = self.feed.cut({change.revoke})
            log.info("council act %d: expelled %s (%d open stream(s) ended)", record.seq,
                     change.revoke, cut)
        if change.revoke or change.admit is not None:
            self.writer.membership_changed()

    async def _membership(self, record: ActRecord, entry: Carried) -> MemberChange:
        """What an admission or expulsion does to the ledger (raises HubError if refused)."""
        effect = record.act.effect
        if isinstance(effect, Expel):
            entry.effect = f"key of {effect.member} revoked, its open streams ended"
            return MemberChange(revoke=effect.member, why=f"expelled by the council (act {record.seq})")
        if not isinstance(effect, Admit):
            return MemberChange()
        key = bytes.fromhex(effect.public_key)
        if await self.ledger.member_by_key(key_id_of(key)) is not None:
            entry.effect = f"{effect.member}'s key was already a member's"
            return MemberChange()
        # The council named the ranges: no width cap, but never another member's.
        owns = check_claims(effect.owns, await self.ledger.members(), (), effect.owns)
        entry.effect = f"key of {effect.member} registered" + (f", owning {', '.join(owns)}" if owns else "")
        return MemberChange(admit=MemberRecord(effect.member, key_id_of(key), key, tuple(owns), 0.0))

    @staticmethod
    def _entry(carried: Carried, now: float) -> JournalEntry:
        return JournalEntry(JOURNAL_KIND, str(carried.seq), now, msgspec.json.encode(carried))

    async def _wide_range(self, effect: WideRange, carried: Carried, now: float) -> None:
        until = float(effect.until) if effect.until else now + UNTIL_LIFTED
        record = DecisionRecord(
            action="block", target=effect.range, until=until, scenario="council-wide-range",
            origin="council", created=now, policy=self.version, rule=f"council act {carried.seq}")
        carried.effect = f"{effect.range} blocked"
        cursors = await self.ledger.write(WriteGroup(decisions=[record], journal=[self._entry(carried, now)]))
        await self.feed.publish([record.decision(c) for c in cursors])

    # -- checkpoints -------------------------------------------------------------------
    async def checkpoint(self) -> SignedCheckpoint:
        """The hub's signed word on its log up to the head members were sent."""
        async with self._lock:
            head = self.feed.head
            while self.cursor < head:
                page = [d for d in await self.ledger.decisions_after(self.cursor, 1000)
                        if self.cursor < d.cursor <= head]
                if not page:
                    break
                self.chain, self.cursor = chain_over(self.chain, page), page[-1].cursor
            state = self.standing
            if state is None:
                raise HubError("the council's act log has not been read yet")
            signed = self._signed
            if (signed is None or signed.checkpoint.cursor != self.cursor
                    or signed.checkpoint.acts_seq != state.state.seq):
                signed = sign_checkpoint(self.seed, Checkpoint(
                    alliance=state.alliance, cursor=self.cursor, chain=self.chain.hex(),
                    acts_seq=state.state.seq, acts_head=state.state.head.hex(), issued=int(self.clock())))
                self._signed = signed
            return signed

    async def seal(self) -> bytes | None:
        """The SSE frame carrying the signed checkpoint (``None`` if none can be signed now)."""
        try:
            signed = await self.checkpoint()
        except HubError:
            return None
        return b"event: checkpoint\ndata: %s\n\n" % encode_checkpoint(signed)

    async def _resume_chain(self) -> None:
        head = await self.ledger.head()
        try:
            saved = msgspec.json.decode((self.config.data_dir / CHAIN_FILE).read_bytes(),
                                        type=_ChainPosition)
            if saved.cursor <= head:
                self.cursor, self.chain = saved.cursor, bytes.fromhex(saved.chain)
        except (OSError, msgspec.DecodeError, ValueError):
            self.cursor, self.chain = 0, GENESIS  # rehash the log from its start

    def _save_chain(self) -> None:
        data = msgspec.json.encode(_ChainPosition(self.cursor, self.chain.hex()))
        write_private(self.config.data_dir / CHAIN_FILE, data)
