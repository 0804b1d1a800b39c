"""Taking a councillor's signature from the dashboard (``POST /ui/council/sign``).

A councillor signs offline (``shieldwall council sign`` writes a ``.sig`` file) and
sends the file to an operator, who pastes it into the council page: the key never
reaches a browser. The hub stores it in its council folder only once it counts, by
the same check ``council status`` and publishing use
(:func:`~shieldwall.governance.status.check_signature`). Publishing stays
``shieldwall council publish``.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from pathlib import Path

import msgspec
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from shieldwall.errors import GovernanceError
from shieldwall.governance import store
from shieldwall.governance.proposals import ID_HEX_CHARS
from shieldwall.governance.signatures import Signature
from shieldwall.governance.status import check_signature, proposal_status
from shieldwall.hub.api import hub_of
from shieldwall.ui.actions import form_or_refusal
from shieldwall.ui.pages import common
from shieldwall.ui.render import page

_PROPOSAL_ID = re.compile(f"[0-9a-f]{{{ID_HEX_CHARS}}}")
_decoder = msgspec.json.Decoder(Signature)


def take_signature(folder: Path, pinned: bytes | None, pid: str, pasted: str, now: int) -> str:
    """Store ``pasted`` (a ``.sig`` file's JSON) on open proposal ``pid`` if it counts;
    returns what the page says. Raises :class:`GovernanceError`; nothing is written then."""
    if not _PROPOSAL_ID.fullmatch(pid):
        raise GovernanceError("unknown-proposal", f"{pid[:40]!r} is not a proposal id"
                              f" ({ID_HEX_CHARS} hex digits, as the council page lists them)")
    try:
        signature = _decoder.decode(pasted.strip().encode())
    except msgspec.DecodeError as exc:  # ValidationError included: unknown fields, bad hex
        raise GovernanceError("malformed", f"not a signature file (`shieldwall council sign`"
                              f' writes {{"key_id": ..., "sig": ...}}): {exc}') from None
    _, state = store.load_state(folder, pinned)
    proposal = store.load_proposal(folder, pid)
    if proposal.id != pid:
        raise GovernanceError("unknown-proposal", f"no open proposal is {pid!r}")
    name = check_signature(state, proposal, signature)
    store.add_signature(folder / "proposals" / proposal.id, signature)
    status = proposal_status(state, store.load_proposal(folder, pid), now)
    counts = "; ".join(f"{c.council} {len(c.signers)} of {c.needed}" for c in status.counts)
    ready = ("ready to publish: `shieldwall council publish`" if status.publishable
             else "not publishable yet")
    return f"stored {name}'s signature of proposal {pid}: {counts}; {ready}"


async def post_sign(request: Request) -> Response:
    """Verify a pasted councillor signature and store it with its proposal (400 if it
    would not count, nothing written)."""
    form, refused = await form_or_refusal(request)
    if refused is not None:
        return refused
    hub = hub_of(request)
    folder = hub.config.council_dir
    pinned = bytes.fromhex(hub.config.charter) if hub.config.charter else None
    try:
        if folder is None:
            raise GovernanceError("no-council", "this hub has no council folder (hub.toml `council`)")
        message = await asyncio.to_thread(
            take_signature, folder, pinned, form.get("proposal", "").strip(),
            form.get("signature", ""), int(hub.clock()),
        )
    except GovernanceError as exc:
        return page("refused.html", 400, **common(request, "/ui/council", "Refused"),
                    reason=f"signature not stored: {exc}")
    return RedirectResponse("/ui/council?message=" + urllib.parse.quote(message), 303)
