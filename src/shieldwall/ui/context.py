"""What the dashboard's handlers share: sessions, who may look, the institutions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from shieldwall.addresses import Ranges, parse_address, parse_ranges
from shieldwall.errors import ShieldwallError
from shieldwall.hub.config import HubConfig
from shieldwall.ui.access import Sessions
from shieldwall.ui.institutions import Institutions

#: Who may always open the dashboard; ``hub.toml``'s ``ui_allow`` adds ranges.
LOOPBACK = ("127.0.0.0/8", "::1/128")


@dataclass
class UiContext:
    """One per hub process (``app.state.ui``)."""

    allow: Ranges = field(default_factory=lambda: parse_ranges(LOOPBACK, "loopback", widen=False))
    sessions: Sessions = field(default_factory=Sessions)
    institutions: Institutions = field(default_factory=Institutions)

    def allows(self, client: str | None) -> bool:
        """Whether a client at ``client`` may see the dashboard."""
        if not client:
            return False
        try:
            address = parse_address(client)
        except (ShieldwallError, ValueError):
            return False
        return self.allow.covers(str(address))


def ui_context(config: HubConfig, app_state: Any) -> UiContext:
    """The dashboard's context for a hub with ``config`` (``app_state``: the app's state,
    where the institutions' live parts hang once the lifespan started)."""
    # Loopback always: the hub's own host is where its operator already is.
    allow = (*LOOPBACK, *config.ui_allow)
    return UiContext(
        allow=parse_ranges(allow, "ui_allow", widen=False),
        institutions=Institutions(app_state),
    )


def ui_of(request: Request) -> UiContext:
    """The dashboard's context on the app."""
    context: UiContext = request.app.state.ui
    return context
