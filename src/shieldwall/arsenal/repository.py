"""The hub's TUF repository of alliance rules, written with ``tuf.api.metadata``.

Roles: ``root`` and ``targets`` are the council's keys with the council's
threshold (so a rule, its status and its report hash change only with k
councillors' signatures); ``snapshot`` and ``timestamp`` are the hub's online
key, re-signed on every publication and by :func:`refresh_timestamp`.

Layout under the folder: ``metadata/`` (``N.root.json``, ``targets.json``,
``N.snapshot.json``, ``timestamp.json``: what members fetch), ``targets/`` (rule
files, reports, ``gates.json``, ``index.json``, each under its hash-prefixed name,
so an old and a new set coexist), ``draft.json`` (the next targets version while
councillors sign it). Every file is written whole and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from shieldwall.arsenal.gates import Gates
from shieldwall.arsenal.rule import Rule
from shieldwall.arsenal.trials import INDEX as TRIAL_INDEX
from shieldwall.arsenal.trials import ROLE as TRIALS
from shieldwall.arsenal.trials import SIGNED_AT, check_trials, signed_at, trial_path
from shieldwall.errors import ArsenalError
from shieldwall.governance.state import CouncilState
from shieldwall.signals.keys import public_key_of

INDEX = "index.json"
#: The delegated role the hub's key signs, and its one target: rules demoted to shadow.
DEMOTIONS = "demotions"
DEMOTED = "demoted.json"
GATES = "gates.json"
ROOT_LIFETIME = timedelta(days=365)
TARGETS_LIFETIME = timedelta(days=90)
SNAPSHOT_LIFETIME = timedelta(days=7)
TIMESTAMP_LIFETIME = timedelta(days=1)
_serializer = JSONSerializer(compact=False)


def signer_of(seed: bytes) -> CryptoSigner:
    """A TUF signer for a 32-byte Ed25519 seed (a councillor's or the hub's key)."""
    return CryptoSigner(Ed25519PrivateKey.from_private_bytes(seed))


def key_of(public_key: bytes) -> SSlibKey:
    """The TUF key for a raw 32-byte Ed25519 public key."""
    return SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(public_key))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _expiry(now: float, lifetime: timedelta) -> datetime:
    return (datetime.fromtimestamp(now, UTC) + lifetime).replace(microsecond=0)


class Repository:
    """One alliance's rule repository on the hub's disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.metadata = folder / "metadata"
        self.targets_dir = folder / "targets"
        #: Paths (``metadata/…``, ``targets/…``) this object wrote, in order: what a publication
        #: copies into the ledger (:mod:`shieldwall.arsenal.ledger_copy`) for every replica.
        self.written: list[str] = []

    def _put(self, path: Path, data: bytes) -> None:
        _write(path, data)
        self.written.append(path.relative_to(self.folder).as_posix())

    # -- creation -------------------------------------------------------------
    @classmethod
    def create(cls, folder: Path, council: Iterable[bytes], threshold: int, signers: Iterable[bytes],
               hub_seed: bytes, now: float, gates: Gates | None = None) -> Repository:
        """Found the repository: root v1 signed by ``signers`` (council seeds), targets v1
        holding the gates and an empty index."""
        repo = cls(folder)
        if (repo.metadata / "1.root.json").exists():
            raise ArsenalError("exists", f"{folder} already holds an arsenal repository")
        council = list(council)
        if not 1 <= threshold <= len(council):
            raise ArsenalError("invalid", f"threshold {threshold} for a council of {len(council)}")
        root = Root(expires=_expiry(now, ROOT_LIFETIME), consistent_snapshot=True)
        for public in council:
            for role in ("root", "targets"):
                root.add_key(key_of(public), role)
        root.roles["root"].threshold = threshold
        root.roles["targets"].threshold = threshold
        online = key_of(public_key_of(hub_seed))
        for role in ("snapshot", "timestamp"):
            root.add_key(online, role)
        root_md = Metadata(root)
        for seed in signers:
            root_md.sign(signer_of(seed), append=True)
        try:
            root.verify_delegate("root", root_md.signed_bytes, root_md.signatures)
        except UnsignedMetadataError as exc:
            raise ArsenalError("under-signed", f"root: {exc}") from None
        raw = root_md.to_bytes(_serializer)
        repo._put(repo.metadata / "1.root.json", raw)
        repo._put(repo.metadata / "root.json", raw)
        targets = Targets(expires=_expiry(now, TARGETS_LIFETIME))
        # The hub's own key may only ever name rules to run in shadow (demoted.json): the
        # charter's automatic demotion when harm rises, without waiting for a vote. Any one
        # councillor signs the trials role (new rules in shadow); who may, and when, is the
        # charter's (shieldwall.arsenal.trials), checked by the hub and by every member.
        councillors = [key_of(public) for public in council]
        targets.delegations = Delegations(
            keys={online.keyid: online, **{k.keyid: k for k in councillors}},
            roles={DEMOTIONS: DelegatedRole(DEMOTIONS, [online.keyid], 1, True, paths=[DEMOTED]),
                   TRIALS: DelegatedRole(TRIALS, [k.keyid for k in councillors], 1, True,
                                         paths=[f"{TRIALS}/*"])})
        repo._sign_demotions([], hub_seed, now)
        draft = Metadata(targets)
        draft.signed.targets = {
            GATES: _staged(repo, GATES, msgspec.json.encode(gates or Gates())),
            INDEX: _staged(repo, INDEX, _index([])),
        }
        for seed in signers:
            draft.sign(signer_of(seed), append=True)
        repo.publish(draft, hub_seed, now)
        return repo

    # -- reading --------------------------------------------------------------
    def root_bytes(self, version: int = 1) -> bytes:
        """``N.root.json``: what a join token carries (version 1) to bootstrap members."""
        return (self.metadata / f"{version}.root.json").read_bytes()

    def root(self) -> Root:
        """The current root's signed part."""
        return Metadata[Root].from_bytes((self.metadata / "root.json").read_bytes()).signed

    def targets(self) -> Metadata[Targets]:
        """The published targets metadata."""
        return Metadata[Targets].from_bytes((self.metadata / "targets.json").read_bytes())

    def index(self) -> list[str]:
        """Rule target paths of the published set."""
        paths: list[str] = json.loads(self.target_bytes(INDEX))["rules"]
        return paths

    def target_bytes(self, path: str) -> bytes:
        """A published target's bytes (stored under its hash-prefixed name)."""
        info = self.targets().signed.targets.get(path)
        if info is None:
            raise ArsenalError("unknown", f"no target {path!r} in the published set")
        return (self.targets_dir / info.get_prefixed_paths()[0]).read_bytes()

    # -- changing the set -------------------------------------------------------
    def draft(self, files: Mapping[str, bytes], custom: Mapping[str, dict[str, Any]],
              now: float, remove: Iterable[str] = ()) -> Metadata[Targets]:
        """The next targets version: current targets plus ``files`` (path -> bytes), with
        ``custom`` fields per path (a rule's status, its report hash); unsigned, saved as
        ``draft.json`` for councillors to sign."""
        current = self.targets().signed
        signed = Targets(version=current.version + 1, expires=_expiry(now, TARGETS_LIFETIME),
                         targets=dict(current.targets), delegations=current.delegations)
        for path in remove:
            signed.targets.pop(path, None)
        rules = [p for p in self.index() if p not in set(remove)]
        rules += [p for p in files if p.startswith("rules/") and p not in rules]
        for path, data in {**files, INDEX: _index(rules)}.items():
            info = _staged(self, path, data)
            old = signed.targets.get(path)
            if old is not None and custom_of(old):
                info.unrecognized_fields["custom"] = custom_of(old)
            signed.targets[path] = info
        for path, fields in custom.items():
            info = signed.targets[path]
            info.unrecognized_fields["custom"] = {**custom_of(info), **fields}
        draft = Metadata(signed)
        _write(self.folder / "draft.json", draft.to_bytes(_serializer))
        return draft

    def load_draft(self) -> Metadata[Targets]:
        """The draft councillors are signing."""
        try:
            return Metadata[Targets].from_bytes((self.folder / "draft.json").read_bytes())
        except FileNotFoundError:
            raise ArsenalError("no-draft", "no change is being signed (draft.json is missing)") from None

    def sign_draft(self, seed: bytes) -> Signature:
        """Add one councillor's signature to the draft."""
        draft = self.load_draft()
        signature = draft.sign(signer_of(seed), append=True)
        _write(self.folder / "draft.json", draft.to_bytes(_serializer))
        return signature

    def publish(self, draft: Metadata[Targets], hub_seed: bytes, now: float) -> int:
        """Publish a signed targets version: refused (``under-signed``) below the council's
        threshold; then snapshot and timestamp are signed with the hub's key."""
        root = self.root()
        try:
            root.verify_delegate("targets", draft.signed_bytes, draft.signatures)
        except UnsignedMetadataError as exc:
            raise ArsenalError("under-signed", f"targets v{draft.signed.version}: {exc}") from None
        raw = draft.to_bytes(_serializer)
        # Versioned names (consistent snapshots): a member reading while the hub publishes
        # sees the old set or the new one whole, never new metadata over old files.
        self._put(self.metadata / f"{draft.signed.version}.targets.json", raw)
        self._put(self.metadata / "targets.json", raw)
        self._snapshot(hub_seed, now)
        (self.folder / "draft.json").unlink(missing_ok=True)
        return draft.signed.version

    # -- chair-alone trials (shieldwall.arsenal.trials) ---------------------------------
    def trials(self) -> Metadata[Targets] | None:
        """The published ``trials`` role, ``None`` before the first chair-alone trial."""
        try:
            return Metadata[Targets].from_bytes((self.metadata / f"{TRIALS}.json").read_bytes())
        except FileNotFoundError:
            return None

    def trial_bytes(self, path: str) -> bytes:
        """A rule file of the trials role."""
        trials = self.trials()
        info = None if trials is None else trials.signed.targets.get(path)
        if info is None:
            raise ArsenalError("unknown", f"no trial {path!r} in the published set")
        return (self.targets_dir / info.get_prefixed_paths()[0]).read_bytes()

    def draft_trial(self, rule: Rule, now: float) -> Metadata[Targets]:
        """The next ``trials`` version: the published one plus ``rule`` as experimental, dated
        ``now`` (the chair signs it, then :meth:`publish_trial`)."""
        current = self.trials()
        targets = {} if current is None else dict(current.signed.targets)
        info = _staged(self, trial_path(rule.id), rule.raw)
        info.unrecognized_fields["custom"] = {"status": "experimental"}
        targets[info.path] = info
        targets[TRIAL_INDEX] = _staged(self, TRIAL_INDEX, _index([p for p in targets if p != TRIAL_INDEX]))
        # A year, like the root: a trial outlives a chair's term without anyone re-signing it.
        return Metadata(Targets(version=1 if current is None else current.signed.version + 1,
                                expires=_expiry(now, ROOT_LIFETIME), targets=targets,
                                unrecognized_fields={SIGNED_AT: int(now)}))

    def publish_trial(self, md: Metadata[Targets], council: CouncilState | None, hub_seed: bytes,
                      now: float) -> str:
        """Publish a ``trials`` version; returns the chair who signed it.

        Refused (:class:`ArsenalError`) unless a councillor's key of the delegation signed it
        (``under-signed``) and :func:`~shieldwall.arsenal.trials.check_trials` passes against the
        hub's clock: the charter delegates trials, the signer chairs now, experimental only.
        """
        top = self.targets().signed
        if top.delegations is None or top.delegations.roles is None or TRIALS not in top.delegations.roles:
            raise ArsenalError("not-delegated", "this arsenal's signed targets delegate no trials role")
        try:
            top.verify_delegate(TRIALS, md.signed_bytes, md.signatures)
        except UnsignedMetadataError as exc:
            raise ArsenalError("under-signed", f"trials v{md.signed.version}: {exc}") from None
        previous = self.trials()
        if previous is not None and md.signed.version <= previous.signed.version:
            raise ArsenalError("invalid", f"trials v{md.signed.version} is not newer than the published"
                               f" v{previous.signed.version}")
        floor = 0 if previous is None else signed_at(previous)
        chair = check_trials(md, top.delegations.keys, council, floor, now, hub=True)
        raw = md.to_bytes(_serializer)
        self._put(self.metadata / f"{md.signed.version}.{TRIALS}.json", raw)
        self._put(self.metadata / f"{TRIALS}.json", raw)
        self._snapshot(hub_seed, now)
        return chair

    def demoted(self) -> list[str]:
        """Rule ids the hub's charter rule put back in shadow."""
        raw = (self.metadata / f"{DEMOTIONS}.json").read_bytes()
        info = Metadata[Targets].from_bytes(raw).signed.targets[DEMOTED]
        ids: list[str] = json.loads((self.targets_dir / info.get_prefixed_paths()[0]).read_bytes())["rules"]
        return ids

    def demote(self, rules: Iterable[str], hub_seed: bytes, now: float) -> None:
        """Publish ``rules`` as the set run in shadow whatever their signed status (hub key)."""
        self._sign_demotions(sorted(set(rules)), hub_seed, now)
        self._snapshot(hub_seed, now)

    def _sign_demotions(self, rules: list[str], hub_seed: bytes, now: float) -> None:
        signed = Targets(version=self._version(DEMOTIONS) + 1, expires=_expiry(now, TARGETS_LIFETIME),
                         targets={DEMOTED: _staged(self, DEMOTED, _index(rules))})
        md = Metadata(signed)
        self._sign_online(md, hub_seed, f"{signed.version}.{DEMOTIONS}.json")
        self._sign_online(md, hub_seed, f"{DEMOTIONS}.json")

    def _snapshot(self, hub_seed: bytes, now: float) -> None:
        meta = {"targets.json": MetaFile(version=self._version("targets"))}
        for role in (DEMOTIONS, TRIALS):
            if self._version(role):
                meta[f"{role}.json"] = MetaFile(version=self._version(role))
        snapshot = Snapshot(version=self._version("snapshot") + 1, expires=_expiry(now, SNAPSHOT_LIFETIME),
                            meta=meta)
        self._sign_online(Metadata(snapshot), hub_seed, f"{snapshot.version}.snapshot.json")
        self._sign_online(Metadata(snapshot), hub_seed, "snapshot.json")
        self.refresh_timestamp(hub_seed, now)

    def refresh_timestamp(self, hub_seed: bytes, now: float,
                          lifetime: timedelta = TIMESTAMP_LIFETIME) -> None:
        """Re-sign the timestamp (the hub does so well before it expires)."""
        raw = (self.metadata / "snapshot.json").read_bytes()
        snapshot_version = Metadata[Snapshot].from_bytes(raw).signed.version
        timestamp = Timestamp(version=self._version("timestamp") + 1, expires=_expiry(now, lifetime),
                              snapshot_meta=MetaFile(version=snapshot_version))
        self._sign_online(Metadata(timestamp), hub_seed, "timestamp.json")

    def timestamp_expires(self) -> float:
        """When the published timestamp expires (Unix seconds)."""
        raw = (self.metadata / "timestamp.json").read_bytes()
        return Metadata[Timestamp].from_bytes(raw).signed.expires.timestamp()

    def keep_fresh(self, hub_seed: bytes, now: float, margin: float = 12 * 3600.0) -> bool:
        """Re-sign the timestamp when less than ``margin`` seconds of it are left (True if so):
        members then never see it expire while the hub runs (it never serves a frozen set)."""
        if self.timestamp_expires() - now >= margin:
            return False
        self.refresh_timestamp(hub_seed, now)
        return True

    # -- internals --------------------------------------------------------------
    def _version(self, role: str) -> int:
        path = self.metadata / f"{role}.json"
        if not path.exists():
            return 0
        return int(json.loads(path.read_bytes())["signed"]["version"])

    def _sign_online(self, md: Metadata[Any], hub_seed: bytes, name: str) -> None:
        md.sign(signer_of(hub_seed))
        self._put(self.metadata / name, md.to_bytes(_serializer))


def _staged(repo: Repository, path: str, data: bytes) -> TargetFile:
    """Write a target under its hash-prefixed name (never overwritten) and describe it."""
    if path.startswith("/") or ".." in path.split("/") or not path:
        raise ArsenalError("invalid", f"target path {path!r} leaves the repository")
    info = TargetFile.from_data(path, data)
    repo._put(repo.targets_dir / info.get_prefixed_paths()[0], data)
    return info


def _index(rules: list[str]) -> bytes:
    return json.dumps({"rules": sorted(rules)}, sort_keys=True).encode()


def root_pin(folder: Path) -> str:
    """SHA-256 of the repository's root v1 (what join tokens carry), "" without an arsenal."""
    try:
        return hashlib.sha256((folder / "metadata" / "1.root.json").read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def custom_of(info: TargetFile) -> dict[str, Any]:
    """A target's custom fields (a rule's status and report hash), ``{}`` when it has none."""
    fields = info.unrecognized_fields.get("custom")
    return dict(fields) if isinstance(fields, dict) else {}


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 (what a report's hash in a rule's custom field is)."""
    return hashlib.sha256(data).hexdigest()
