"""The member's side of distribution: fetch the alliance's rules with ``tuf.ngclient``.

TUF checks what it is built for (threshold signatures, rollback, freeze,
mix-and-match, tampered bytes); this module adds the alliance's own checks on
the verified set before it may become active: every rule parses, statuses only
take steps that exist, and an enforcing status comes with a report whose hash
the signed target names and whose figures pass the signed gates; chair-alone
trials pass :func:`~shieldwall.arsenal.trials.check_trials` against the council's
verified state. Any refusal keeps the last good set, and says why (:class:`ArsenalError`).

The TUF metadata folder persists: rollback and freeze protection rest on the
versions it remembers.
"""

from __future__ import annotations

import dataclasses
import json
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
from tuf.api.exceptions import DownloadError, DownloadHTTPError, RepositoryError
from tuf.api.metadata import Metadata, Targets
from tuf.ngclient import FetcherInterface, Updater

from shieldwall.arsenal import active
from shieldwall.arsenal.active import ActiveRule, ActiveSet
from shieldwall.arsenal.figures import Figures
from shieldwall.arsenal.gates import Gates, check_gate, decode_gates
from shieldwall.arsenal.repository import DEMOTED, GATES, INDEX, custom_of, sha256_hex
from shieldwall.arsenal.rule import parse_rule
from shieldwall.arsenal.status import STATUSES, check_change, enforces
from shieldwall.arsenal.trials import INDEX as TRIAL_INDEX
from shieldwall.arsenal.trials import ROLE as TRIALS
from shieldwall.arsenal.trials import SKEW, check_trials, signed_at, trial_path
from shieldwall.errors import ArsenalError
from shieldwall.governance.state import CouncilState

#: When this member last accepted the hub's set, and which trials role: a new trials version
#: signed before that is refused as dated back (see :func:`_trial_rules`).
CHECKED = "checked.json"


class PinnedFetcher(FetcherInterface):
    """Fetches over HTTPS trusting only the hub's pinned certificate (or plain HTTP)."""

    def __init__(self, verify: ssl.SSLContext | bool = True, timeout: float = 10.0) -> None:
        self._client = httpx.Client(verify=verify, timeout=timeout)

    def _fetch(self, url: str) -> Iterator[bytes]:
        response = self._client.get(url)
        if response.status_code != 200:
            raise DownloadHTTPError(f"{url}: HTTP {response.status_code}", response.status_code)
        return iter([response.content])

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


@dataclass(frozen=True)
class Source:
    """Where a member's arsenal comes from and what it trusts."""

    folder: Path
    #: The hub's base URL for the repository (``https://hub:8443/v1/arsenal``).
    url: str
    #: Root v1 bytes from the join token (used only before the first fetch).
    bootstrap: bytes
    fetcher: FetcherInterface | None = None
    #: The council's verified state (act log from the pinned charter), asked for only when
    #: the set holds chair-alone trials; ``None`` or returning ``None``: no council.
    council: Callable[[], CouncilState | None] | None = None


def fetch(source: Source, current: ActiveSet) -> ActiveSet:
    """The verified set the hub publishes now (``current`` if unchanged)."""
    tuf = source.folder / "tuf"
    tuf.mkdir(parents=True, exist_ok=True)
    downloads = source.folder / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    bootstrap = None if (tuf / "root.json").exists() else source.bootstrap
    before = _accepted_trials(source.folder)
    try:
        updater = Updater(str(tuf), f"{source.url}/metadata/", str(downloads), f"{source.url}/targets/",
                          source.fetcher, bootstrap=bootstrap)
        updater.refresh()
        version = _set_version(tuf)
        if version == current.version:
            _checked_now(source.folder)
            return current

        def download(path: str) -> tuple[bytes, dict[str, object]]:
            info = updater.get_targetinfo(path)
            if info is None:
                raise ArsenalError("missing", f"the signed set names no target {path!r}")
            with open(updater.download_target(info), "rb") as handle:
                return handle.read(), custom_of(info)

        index = msgspec.json.decode(download(INDEX)[0], type=dict[str, list[str]])["rules"]
        gates = decode_gates(download(GATES)[0])
        rules = []
        for path in index:
            data, custom = download(path)
            rules.append(_checked(path, data, custom, download, gates, current))
        demoted = set(msgspec.json.decode(_download_demoted(download), type=dict[str, list[str]])["rules"])
        council_ids = {r.rule.id for r in rules}
        trials, accepted = _trial_rules(tuf, download, source, before)
        rules += [r for r in trials if r.rule.id not in council_ids]
    except RepositoryError as exc:
        raise ArsenalError(f"tuf-{type(exc).__name__}", f"arsenal update refused: {exc}") from None
    except DownloadError as exc:
        raise ArsenalError("unreachable", f"arsenal update failed: {exc}") from None
    rules = [dataclasses.replace(r, demoted=r.rule.id in demoted) for r in rules]
    names = [r.rule.name for r in rules if enforces(r.status)]
    if len(set(names)) != len(names):
        raise ArsenalError("invalid", "the set has two enforcing versions of one rule")
    _checked_now(source.folder, accepted)
    return ActiveSet(version, tuple(rules))


def _download_demoted(download: Callable[[str], tuple[bytes, dict[str, object]]]) -> bytes:
    # Signed by the hub's key through the "demotions" delegation, which may name only this file.
    return download(DEMOTED)[0]


def _checked(path: str, data: bytes, custom: dict[str, object],
             download: Callable[[str], tuple[bytes, dict[str, object]]], gates: Gates,
             current: ActiveSet) -> ActiveRule:
    rule = parse_rule(data, path)
    if path != rule.target_path:
        raise ArsenalError("invalid", f"{path} holds {rule.id}")
    status = custom.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise ArsenalError("invalid", f"{rule.id}: the signed target gives no valid status ({status!r})")
    before = current.status_of(rule.id)
    if before is not None and before != status:
        check_change(before, status)
    report_hash = custom.get("report_sha256", "")
    if enforces(status):
        if not isinstance(report_hash, str) or not report_hash:
            raise ArsenalError("report-mismatch", f"{rule.id} is {status} without a measured report")
        report, _ = download(f"reports/{rule.id}.json")
        if sha256_hex(report) != report_hash:
            raise ArsenalError("report-mismatch",
                               f"{rule.id}: the report served does not hash to the one the council signed")
        try:
            measured = msgspec.json.decode(report, type=Figures)
        except msgspec.DecodeError as exc:
            raise ArsenalError("invalid", f"{rule.id} report: {exc}") from None
        check_gate(rule.id, status, measured, gates)
    return ActiveRule(rule, status, report_hash if isinstance(report_hash, str) else "")


class _Checked(msgspec.Struct, frozen=True):
    """When this member last accepted the hub's set, and the trials role it accepted then
    (not what ngclient stored: a refused version is stored too)."""

    at: int = 0
    trials_version: int = 0
    trials_signed_at: int = 0


def _last_check(folder: Path) -> _Checked:
    try:
        return msgspec.json.decode((folder / CHECKED).read_bytes(), type=_Checked)
    except (OSError, msgspec.DecodeError):
        return _Checked()


def _accepted_trials(folder: Path) -> tuple[int, int]:
    checked = _last_check(folder)
    return checked.trials_version, checked.trials_signed_at


def _checked_now(folder: Path, trials: tuple[int, int] | None = None) -> None:
    """Note an accepted set (``trials``: its role's version and signing time; ``None``: as before)."""
    version, at = _accepted_trials(folder) if trials is None else trials
    (folder / CHECKED).write_bytes(msgspec.json.encode(_Checked(int(time.time()), version, at)))


def _trial_rules(tuf: Path, download: Callable[[str], tuple[bytes, dict[str, object]]], source: Source,
                 before: tuple[int, int]) -> tuple[list[ActiveRule], tuple[int, int]]:
    """The chair-alone trials of the set, once the charter's check passed (see trials.py),
    and the role's (version, signing time) to remember once the whole set is accepted."""
    snapshot = json.loads((tuf / "snapshot.json").read_bytes())["signed"]["meta"]
    if f"{TRIALS}.json" not in snapshot:
        return [], (0, 0)
    paths = msgspec.json.decode(download(TRIAL_INDEX)[0], type=dict[str, list[str]])["rules"]
    # TUF verified the role against the council-signed delegation and stored it: the charter's turn.
    md = Metadata[Targets].from_bytes((tuf / f"{TRIALS}.json").read_bytes())
    top = Metadata[Targets].from_bytes((tuf / "targets.json").read_bytes()).signed
    keys = {} if top.delegations is None else top.delegations.keys
    council = source.council() if source.council is not None else None
    # A new version cannot have been signed before this member's last check (less the skew):
    # the hub publishes what the chair signed at once, so older means dated back.
    floor = before[1]
    if md.signed.version != before[0]:
        floor = max(floor, _last_check(source.folder).at - SKEW)
    check_trials(md, keys, council, floor, time.time())
    out = []
    for path in paths:
        data, _custom = download(path)
        rule = parse_rule(data, path)
        if path != trial_path(rule.id):
            raise ArsenalError("invalid", f"{path} holds {rule.id}")
        out.append(ActiveRule(rule, "experimental"))
    return out, (md.signed.version, signed_at(md))


def _set_version(tuf: Path) -> int:
    # refresh() verified and stored the snapshot: it changes with the council's targets and
    # with the hub's demotions, so its version names the whole set.
    signed = json.loads((tuf / "snapshot.json").read_bytes())["signed"]
    return int(signed["version"])


def update(source: Source, before_swap: Callable[[ActiveSet], None] | None = None) -> tuple[ActiveSet, bool]:
    """Fetch, verify and swap in the hub's set; returns (active set, whether it changed).

    On any refusal the last good set stays active and :class:`ArsenalError` says why.
    ``before_swap`` runs between download and swap (the kill test stops the process there).
    """
    current = active.load(source.folder)
    candidate = fetch(source, current)
    if candidate is current:
        return current, False
    if before_swap is not None:
        before_swap(candidate)
    active.save(source.folder, candidate)
    return candidate, True
