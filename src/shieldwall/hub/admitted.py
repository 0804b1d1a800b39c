"""Admission under a council, on the hub: no invites, and the join of a member admitted by vote.

A hub attached to a council admits members only through the council's ``admit`` act
(:mod:`.governance_council` registers the key it names): ``shieldwall hub invite`` and
``POST /v1/join`` are refused with :func:`invite_refusal`, which says what to do instead.

``POST /v1/join/admitted`` (:func:`post_admitted_join`) is how the admitted organisation
obtains what a join token would have carried. The request is signed by the admitted key
(an unknown, revoked or badly signed key is refused before anything else, as on every
signed route); the hub answers only when the council's verified act log admits that key
under the member's name and has not expelled it. The answer is the same for every request
of the same key but its nonce (a second join is answered, not refused: it learns nothing
new), and is signed by the hub's identity; the member verifies it against the charter
(:func:`~shieldwall.governance.admission.verify_welcome`). The first join is journaled
(kind ``admitted-join``, keyed by the member).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from shieldwall.arsenal.ledger_copy import published_root_pin
from shieldwall.governance.admission import AdmissionRequest, Welcome, sign_welcome
from shieldwall.hub.admin import join_hubs
from shieldwall.hub.api import authenticate, hub_of, json_response, signed_body
from shieldwall.hub.config import HubConfig
from shieldwall.hub.governance_api import council_of
from shieldwall.hub.governance_council import HubCouncil
from shieldwall.hub.ledger.storage import JournalEntry
from shieldwall.hub.problem import ProblemError

JOURNAL_KIND = "admitted-join"
REQUEST_LIMIT = 1024


def invite_refusal(config: HubConfig, *, remote: bool = False) -> str:
    """Why a hub under a council makes no invite, and how its members are admitted instead.

    ``remote``: for an HTTP answer (it names no folder of the hub host).
    """
    folder = "./council" if remote else str(config.council_dir)
    hubs, fingerprints = join_hubs(config)
    return (
        "this hub runs under a council: admitting a member is a council act, not an invite. The"
        " new organisation makes its member key (`shieldwall join --keygen member.key` prints its"
        " public key); a councillor proposes `shieldwall council propose admit"
        f" {folder} --key COUNCILLOR.key --member NAME --public-key HEX`, the council signs"
        " and publishes it, then the organisation joins with `shieldwall join --key member.key"
        f" --hub {hubs[0]} --pin {fingerprints[0]} --charter {config.charter}`"
    )


class _Joined(msgspec.Struct, forbid_unknown_fields=True):
    key_id: str
    acts_seq: int


def _admits(council: HubCouncil, name: str, public_hex: str) -> bool:
    state = council.standing
    return state is not None and state.state.members.get(name) == public_hex


async def post_admitted_join(request: Request) -> Response:
    """The signed welcome of a member the council admitted (see the module docstring)."""
    council = council_of(request)  # 404 on a hub without a council
    hub = hub_of(request)
    member = await authenticate(request)
    raw = await signed_body(request, REQUEST_LIMIT)
    try:
        ask = msgspec.json.decode(raw, type=AdmissionRequest)
    except msgspec.DecodeError as exc:
        raise ProblemError("bad-request", f"admitted join request is not valid: {exc}") from None
    if not _admits(council, member.name, member.public_key.hex()):
        await council.refresh()  # a replica that carried nothing out may not have read the act yet
    records, state = council.records, council.standing  # one consistent pair (no await between)
    assert state is not None  # council_of answers 404 before the act log was read
    if not _admits(council, member.name, member.public_key.hex()):
        raise ProblemError(
            "not-admitted", f"the council's act log does not admit this key as {member.name!r} (it"
            " joined by invite, or was expelled): nothing to join", 403)
    hubs, fingerprints = join_hubs(hub.config)
    welcome = Welcome(
        alliance=state.alliance, member=member.name, public_key=member.public_key.hex(),
        nonce=ask.nonce, addresses=hubs, fingerprints=fingerprints, charter=hub.config.charter,
        arsenal=await published_root_pin(hub.ledger, hub.config.data_dir / "arsenal"),
        acts_seq=state.state.seq, acts_head=state.state.head.hex(),
    )
    signed = sign_welcome(council.seed, welcome, tuple(records))
    if not await hub.ledger.journal(JOURNAL_KIND, key=member.name, limit=1):
        body = msgspec.json.encode(_Joined(member.key_id, state.state.seq))
        await hub.ledger.journal_append([JournalEntry(JOURNAL_KIND, member.name, hub.clock(), body)])
    return json_response(msgspec.json.encode(signed))
