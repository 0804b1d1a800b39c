"""Probe of the hub: reachability, this member's key, the head cursor and the hub's clock.

Two cheap requests through the member's own :class:`HubClient` (pinned certificate):
``GET /healthz`` for the head and the ``Date`` header, then a signed one-decision page
after the agent's saved cursor, which the hub refuses if this member's key is not
accepted. Nothing is sent that the agent would not send itself.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import msgspec

from shieldwall.decisions.codec import decode_page
from shieldwall.errors import HubError, ShieldwallError, SignalError
from shieldwall.readiness.link import HubView, StreamView
from shieldwall.signals.client import HubClient
from shieldwall.signals.member_state import STATE_FILE, MemberState, load_member_state


class _Health(msgspec.Struct):
    head: int = 0


def hub_date(value: str | None) -> float | None:
    """The ``Date`` header as a timestamp; ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def member_of(data_dir: Path) -> tuple[MemberState | None, HubView | None]:
    """The member state, or the :class:`HubView` saying why there is none."""
    if not (data_dir / STATE_FILE).exists():
        return None, HubView(joined=False)
    try:
        return load_member_state(data_dir), None
    except ShieldwallError as exc:
        return None, HubView(error=f"cannot read the member state: {exc}")


async def ask_hub(
    member: MemberState,
    cursor: int,
    *,
    timeout: float = 5.0,
    stream: StreamView | None = None,
    clock: Callable[[], float] = time.time,
) -> HubView:
    """What the hub answers now (``stream``: the running agent's last report, passed on)."""
    async with HubClient(member, timeout=timeout, attempts=1, clock=clock) as client:
        sent = clock()
        try:
            health = await client.request("GET", "/healthz")
        except SignalError as exc:
            return HubView(hub=client.hub, error=f"/healthz answered {exc.reason}: {exc}",
                           stream=stream)
        except HubError as exc:
            return HubView(hub=member.hub, error=_short(str(exc), member.hub), stream=stream)
        received = clock()
        try:
            head = msgspec.json.decode(health.content, type=_Health).head
        except (msgspec.DecodeError, msgspec.ValidationError):
            return HubView(hub=client.hub, error="/healthz sent an unreadable answer: is this a"
                                                 " Shieldwall hub?", stream=stream)
        # The replica that answered (the client tries the hub's addresses in turn).
        seen = HubView(hub=client.hub, head=head, date=hub_date(health.headers.get("date")),
                       sent_at=sent, received_at=received, stream=stream)
        try:
            page = await client.request("GET", f"/v1/decisions?after={cursor}&limit=1")
            head = max(head, decode_page(page.content).head)
        except SignalError as exc:
            return replace(seen, refusal=exc.reason)
        except (HubError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            return replace(seen, error=f"decision page: {exc}")
        return replace(seen, head=head)


def _short(message: str, hub: str) -> str:
    # HubClient says "hub at X unreachable: <cause>"; the check names the hub itself.
    return message.removeprefix(f"hub at {hub} unreachable: ") or message
