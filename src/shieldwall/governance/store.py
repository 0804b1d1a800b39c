"""The council's folder on disk: the act log, published charters, open proposals, key files.

Layout under the folder (councillors copy it between machines; nothing needs a network)::

    acts.jsonl                      the act log, one ActRecord per line, append-only
    charters/v000001.json           each published SignedCharter (what members fetch)
    proposals/<id>/act.json         an open proposal's act
    proposals/<id>/<key id>.<n>.sig a signature of it (one file each, so copies merge by copying)

Everything read is verified by the pure core (:func:`state.replay`); this module only
moves bytes and says which file is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import Act, CharterChange
from shieldwall.governance.charter import SignedCharter
from shieldwall.governance.proposals import ID_HEX_CHARS, Proposal, with_signatures
from shieldwall.governance.record import ActRecord, decode_record, encode_record
from shieldwall.governance.signatures import MAX_SIGNATURES, Signature
from shieldwall.governance.state import CouncilState, replay
from shieldwall.signals.member_state import write_private

LOG = "acts.jsonl"
MAX_FILE_BYTES = 1024 * 1024
_act_decoder = msgspec.json.Decoder(Act)
_sig_decoder = msgspec.json.Decoder(Signature)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise GovernanceError("unreadable", f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise GovernanceError("malformed", f"{path} is larger than {MAX_FILE_BYTES} bytes")
    return data


def read_records(folder: Path) -> list[ActRecord]:
    """Every record of the act log (none if the council is not founded yet)."""
    path = folder / LOG
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                raise GovernanceError("malformed", f"{path}:{number} is cut short (an interrupted write?)")
            try:
                records.append(decode_record(line.rstrip(b"\n")))
            except GovernanceError as exc:
                raise GovernanceError(exc.reason, f"{path}:{number}: {exc}") from None
    return records


def load_state(folder: Path, pinned: bytes | None = None) -> tuple[list[ActRecord], CouncilState]:
    """The act log and the state it verifies to."""
    records = read_records(folder)
    return records, replay(records, pinned)


def append_record(folder: Path, record: ActRecord) -> None:
    """Append a verified record to the log (and export a charter it publishes)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOG, "ab") as handle:
        handle.write(encode_record(record) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    effect = record.act.effect
    if isinstance(effect, CharterChange):
        signed = SignedCharter(effect.charter, record.signatures)
        _write(charter_path(folder, effect.charter.version), msgspec.json.encode(signed))


def charter_path(folder: Path, version: int) -> Path:
    """Where version ``version`` of the charter is exported."""
    return folder / "charters" / f"v{version:06d}.json"


def save_proposal(folder: Path, proposal: Proposal) -> Path:
    """Write a proposal's act and signatures; returns its folder."""
    where = folder / "proposals" / proposal.id
    if not (where / "act.json").exists():
        _write(where / "act.json", msgspec.json.encode(proposal.act))
    for signature in proposal.signatures:
        add_signature(where, signature)
    return where


def add_signature(where: Path, signature: Signature) -> None:
    """Store one signature next to a proposal's act (a second identical one is a no-op)."""
    data = msgspec.json.encode(signature)
    for n in range(100):
        path = where / f"{signature.key_id}.{n}.sig"
        if not path.exists():
            _write(path, data)
            return
        if path.read_bytes() == data:
            return
    raise GovernanceError("malformed", f"{where}: too many signatures from key {signature.key_id}")


def load_proposal(folder: Path, pid: str) -> Proposal:
    """An open proposal by id (a unique prefix of it is enough)."""
    root = folder / "proposals"
    matches = sorted(p for p in root.glob(f"{pid}*") if p.is_dir()) if pid.isalnum() else []
    if len(matches) != 1:
        found = "no" if not matches else "more than one"
        raise GovernanceError("unknown-proposal", f"{found} open proposal matches {pid!r} in {root}")
    where = matches[0]
    try:
        act = _act_decoder.decode(_read(where / "act.json"))
        files = sorted(where.glob("*.sig"))
        if len(files) > MAX_SIGNATURES:
            raise GovernanceError("malformed", f"{where}: more than {MAX_SIGNATURES} signature files")
        signatures = [_sig_decoder.decode(_read(p)) for p in files]
    except msgspec.DecodeError as exc:
        raise GovernanceError("malformed", f"{where}: {exc}") from None
    proposal = with_signatures(Proposal(act), signatures)
    if proposal.id != where.name[:ID_HEX_CHARS]:
        raise GovernanceError("malformed", f"{where}: its act does not match its id (edited?)")
    return proposal


def open_proposals(folder: Path) -> list[Proposal]:
    """Every proposal in the folder, oldest first."""
    root = folder / "proposals"
    found = [load_proposal(folder, p.name) for p in root.iterdir() if p.is_dir()] if root.exists() else []
    return sorted(found, key=lambda p: (p.act.opened_at, p.id))


def remove_proposal(folder: Path, pid: str) -> None:
    """Delete a published proposal's folder (its act and signatures are now in the log)."""
    where = folder / "proposals" / pid
    for path in where.iterdir():
        path.unlink()
    where.rmdir()


def save_key(path: Path, seed: bytes) -> None:
    """Write a councillor's key file (the 32-byte seed, mode 0600); never overwrites."""
    if path.exists():
        raise GovernanceError("exists", f"{path} already exists; a key is never overwritten")
    write_private(path, seed)


def load_key(path: Path) -> bytes:
    """A councillor's seed from its key file."""
    seed = _read(path)
    if len(seed) != 32:
        raise GovernanceError("malformed", f"{path} is not a key file (32-byte Ed25519 seed)")
    return seed
