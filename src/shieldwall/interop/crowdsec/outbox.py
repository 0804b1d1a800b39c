"""The gateway's outbox: signals made from alerts, kept until the hub acknowledges them.

The same durable queue as the agent's (:class:`~shieldwall.agent.state.AgentState`,
in its own file so the two processes never share a row), and the same sending
rules: sign with this member's key, retry while the hub is unreachable, drop
only a batch the hub refuses for its content.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from shieldwall.agent.runtime import SEND_BACKOFF, UNSENDABLE
from shieldwall.agent.state import AgentState
from shieldwall.errors import HubError, SignalError
from shieldwall.signals.member_state import MemberState

OUTBOX_FILE = "crowdsec-gateway.db"
BATCH = 500

log = logging.getLogger("shieldwall.crowdsec.gateway")


def open_outbox(data_dir: Path) -> AgentState:
    """The gateway's outbox in ``data_dir``."""
    return AgentState(data_dir / OUTBOX_FILE)


async def send_outbox(member: MemberState, outbox: AgentState, wake: asyncio.Event) -> None:
    """Send queued signals whenever ``wake`` is set, until cancelled."""
    from shieldwall.signals.client import HubClient

    delay = SEND_BACKOFF[0]
    async with HubClient(member) as hub:
        while True:
            await wake.wait()
            pending = outbox.pending(BATCH)
            if not pending:
                wake.clear()
                continue
            ids = [row_id for row_id, _ in pending]
            try:
                ack = await hub.send([signal for _, signal in pending])
            except SignalError as exc:
                if exc.reason not in UNSENDABLE:
                    raise
                outbox.sent(ids)
                log.warning("hub refused %d signals for good (%s): %s", len(ids), exc.reason, exc)
                continue
            except HubError as exc:
                log.warning("hub unreachable, %d signals wait: %s", outbox.backlog(), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, SEND_BACKOFF[1])
                continue
            delay = SEND_BACKOFF[0]
            outbox.sent(ids)
            log.info("hub took %d signals (status %s, seq %s)", len(ids), ack.status, ack.seq)
