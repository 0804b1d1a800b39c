"""The hub's arsenal endpoints: the TUF repository (read-only files) and members' sightings.

Repository files are public within the hub's TLS: their trust comes from the
council's signatures, which every member checks, not from who may read them.
They are served from the hub's folder, brought up to date from the ledger's copy
(:mod:`shieldwall.arsenal.ledger_copy`) at every member poll: every replica serves
the same set. Only the deciding replica signs with the hub key (timestamp, demotions).
Sightings are authenticated like every member request, and go to the arsenal's
journal only: a trial never enters the policy, so it can never become a decision.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shieldwall.addresses import canonical_target
from shieldwall.arsenal.changes import scenario_rules
from shieldwall.arsenal.figures import SightingBatch
from shieldwall.arsenal.ledger_copy import pull, push
from shieldwall.arsenal.measure import demote_harmful, sighting_entries
from shieldwall.arsenal.repository import Repository
from shieldwall.errors import AddressError, ArsenalError
from shieldwall.hub.api import authenticate, hub_of, json_response, signed_body
from shieldwall.hub.identity import IDENTITY_FILE
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.writer import Writer

log = logging.getLogger(__name__)
MAX_SIGHTINGS = 1000
HARM_CHECK_EVERY = 60.0
#: How old (or how far ahead of the hub's clock) a sighting's log time may be.
SIGHTING_AGE, SIGHTING_AHEAD = 7 * 86400.0, 300.0
SIGHTINGS_BODY_LIMIT = 512 * 1024
_PATH = re.compile(r"^[A-Za-z0-9@._-]+(?:/[A-Za-z0-9@._-]+)*$")


class SightingAck(msgspec.Struct, frozen=True):
    """Journal entries written."""

    stored: int


_batch = msgspec.json.Decoder(SightingBatch)


def arsenal_folder(request: Request) -> Path:
    """Where the hub keeps the alliance's TUF repository."""
    return Path(hub_of(request).config.data_dir) / "arsenal"


def _writer(request: Request) -> Writer | None:
    """The writer deciding here: the hub's own, or a PostgreSQL replica's while it leads."""
    from shieldwall.hub.replication import ReplicaDesk

    writer = hub_of(request).writer
    if isinstance(writer, ReplicaDesk):
        return writer.writer
    return writer if isinstance(writer, Writer) else None


def sync_rules(request: Request) -> None:
    """Tell the writer which scenarios are enforcing arsenal rules, when the published set changed.

    Publication is a CLI's write (into the ledger, then every replica's folder): the hub
    notices it at the next member poll or report.
    """
    writer = _writer(request)
    folder = arsenal_folder(request)
    try:
        stamp = (id(writer), (folder / "metadata" / "targets.json").stat().st_mtime_ns)
    except OSError:
        return
    state = request.app.state
    if writer is None or getattr(state, "arsenal_stamp", None) == stamp:
        return
    try:
        writer.rules = scenario_rules(Repository(folder))
    except (ArsenalError, OSError, ValueError) as exc:
        log.warning("arsenal: cannot read the published set: %s", exc)
        return
    state.arsenal_stamp = stamp


async def keep_fresh(request: Request) -> None:
    """Re-sign the timestamp with the hub's key before it gets close to expiry (the deciding
    replica only: one signer, so replicas never publish two different timestamps)."""
    hub = hub_of(request)
    if _writer(request) is None:
        return
    repo = Repository(arsenal_folder(request))
    try:
        if repo.keep_fresh((Path(hub.config.data_dir) / IDENTITY_FILE).read_bytes(), hub.clock()):
            await push(hub.ledger, repo, hub.clock())
            log.info("arsenal: timestamp re-signed (valid for another day)")
    except (OSError, ValueError) as exc:
        log.warning("arsenal: cannot re-sign the timestamp: %s", exc)


async def check_harm(request: Request) -> None:
    """At a member's poll, after new sightings or once a minute: the charter rule demoting
    harmful rules (lifts and disputes arrive without sightings, hence the minute)."""
    hub = hub_of(request)
    state = request.app.state
    now = hub.clock()
    fresh = getattr(state, "arsenal_sighted", False)
    if _writer(request) is None:
        return  # the deciding replica demotes, once for all
    if not fresh and now - getattr(state, "arsenal_checked", 0.0) < HARM_CHECK_EVERY:
        return
    state.arsenal_checked, state.arsenal_sighted = now, False
    if not (arsenal_folder(request) / "metadata" / "timestamp.json").exists():
        return
    try:
        seed = (Path(hub.config.data_dir) / IDENTITY_FILE).read_bytes()
        repo = Repository(arsenal_folder(request))
        demoted = await demote_harmful(repo, hub.ledger, hub.config.protections(), seed, now)
        await push(hub.ledger, repo, now)
    except (ArsenalError, OSError, ValueError) as exc:
        log.warning("arsenal: harm check failed: %s", exc)
        return
    for rule in demoted:
        log.warning("arsenal: %s put back in shadow: its harm passed the charter's bounds", rule)


async def get_file(request: Request) -> Response:
    """One repository file (``metadata/…`` or ``targets/…``), or 404."""
    part = request.path_params["part"]
    path = str(request.path_params["path"])
    if part not in ("metadata", "targets") or not _PATH.match(path) or ".." in path.split("/"):
        raise ProblemError("not-found", "no such arsenal file", 404)
    folder = arsenal_folder(request)
    file = folder / part / path
    if part == "metadata" and path == "timestamp.json":
        # What any replica (or the CLI) published: the ledger holds it, this folder copies it.
        await pull(hub_of(request).ledger, folder)
        sync_rules(request)
        await check_harm(request)
        await keep_fresh(request)
    try:
        data = file.read_bytes()
    except OSError:
        data = b""
        if await pull(hub_of(request).ledger, folder):
            data = file.read_bytes() if file.exists() else b""
        if not data:
            raise ProblemError("not-found", f"no arsenal file {part}/{path}", 404) from None
    return Response(data, media_type="application/octet-stream")


async def post_sightings(request: Request) -> Response:
    """Store a member's sightings and usage in the journal (never in the policy)."""
    hub = hub_of(request)
    member = await authenticate(request)
    raw = await signed_body(request, SIGHTINGS_BODY_LIMIT)
    try:
        batch = _batch.decode(raw)
    except msgspec.DecodeError as exc:
        raise ProblemError("malformed", f"sightings: {exc}") from None
    if len(batch.sightings) + len(batch.usage) > MAX_SIGHTINGS:
        raise ProblemError("malformed", f"at most {MAX_SIGHTINGS} sightings and usage records a request")
    now = hub.clock()
    for index, sighting in enumerate(batch.sightings):
        # Figures are only as good as their dates and targets: refuse what cannot be a detection.
        if not now - SIGHTING_AGE <= sighting.at <= now + SIGHTING_AHEAD:
            raise ProblemError("malformed", f"sightings[{index}].at is not within the last 7 days")
        try:
            canonical_target(sighting.target)
        except AddressError:
            raise ProblemError("malformed", f"sightings[{index}].target is not an address") from None
    sync_rules(request)
    entries = sighting_entries(member.name, list(batch.sightings), list(batch.usage), hub.clock())
    if entries:
        await hub.ledger.journal_append(entries)
        request.app.state.arsenal_sighted = True
    return json_response(msgspec.json.encode(SightingAck(len(entries))))


ROUTES = [
    Route("/v1/arsenal/{part}/{path:path}", get_file, methods=["GET"]),
    Route("/v1/arsenal/sightings", post_sightings, methods=["POST"]),
]
