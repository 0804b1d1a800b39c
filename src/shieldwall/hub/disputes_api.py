"""``POST /v1/disputes``: a member disputes a decision, with evidence.

The request is signed like every member request (headers first, then the body's
hash); the body is a :class:`~shieldwall.hub.disputes.Dispute`. The dispute is
weighed against the rebuilt policy and written, with any lift it caused, in one
group (:func:`~shieldwall.hub.trust_admin.file_dispute`); the writer then
rebuilds its policy from the ledger, which also publishes the lift to every
member's stream. Only the hub that decides takes disputes: a PostgreSQL
follower answers 503 and the member retries (its client tries the other
addresses); the leader files them through its own writer's ledger.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from shieldwall.hub.api import authenticate, hub_of, json_response, signed_body
from shieldwall.hub.disputes import Dispute
from shieldwall.hub.problem import ProblemError
from shieldwall.hub.trust_admin import file_dispute
from shieldwall.hub.writer import Writer

MAX_DISPUTE = 16 * 1024
_decode = msgspec.json.Decoder(Dispute)


async def post_dispute(request: Request) -> Response:
    """Weigh the signing member's dispute; answer what it led to."""
    hub = hub_of(request)
    member = await authenticate(request)
    body = await signed_body(request, MAX_DISPUTE)
    try:
        claim = _decode.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ProblemError("malformed", f"not a dispute: {exc}", 400) from None
    # On PostgreSQL the desk holds the leader's writer while this replica leads.
    writer = hub.writer if isinstance(hub.writer, Writer) else getattr(hub.writer, "writer", None)
    if not isinstance(writer, Writer):
        raise ProblemError("not-ready", "this replica does not decide; send the dispute to"
                           " the leader (retry)", 503)
    answer = await file_dispute(
        writer.ledger, writer.config, writer.base, member.name, claim, hub.clock())
    if answer.lifted:
        # The lift is in the ledger: rebuild the writer's policy, which publishes it too.
        writer.replace_policy(writer.config, writer.base)
    return json_response(msgspec.json.encode(answer))
