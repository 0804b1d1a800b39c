"""The one registry of enforcers: the ``[enforce]`` table names one, this builds it.

:class:`EnforceSpec` is both the schema of ``agent.toml``'s ``[enforce]`` table
and what :func:`make_enforcer` reads, so a key the file accepts is a key the
factory honours. Each factory imports its module only when used: nftables needs
libnftables (or the ``nft`` command) only on a host that enforces with it.

=========  ===============================================================
backend    what
=========  ===============================================================
nftables   table ``inet shieldwall`` (nothing else touched)
memory     blocks held in memory only (tests, the lab's simulated members)
none       the same: detect and signal without touching this host's traffic
=========  ===============================================================

``dry_run = true`` wraps none of them: it applies nothing and notes each plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from shieldwall.config import Network, Section
from shieldwall.enforcers.enforcer import Enforcer

Backend = Literal["nftables", "memory", "none"]
NoteSink = Callable[[str, dict[str, Any]], None]


class EnforceSpec(Section, frozen=True):
    """How this member enforces: ``agent.toml``'s ``[enforce]`` table."""

    backend: Backend = "nftables"
    #: Show what would be applied, apply nothing.
    dry_run: bool = False
    #: This host's sovereignty: never blocked here, whatever the alliance decides.
    allow: tuple[Network, ...] = ()
    #: Block this host's own detections at once (each scenario's ``local_block``).
    local_first: bool = True
    #: Regenerate the exports (plain list, nft script, ipset, nginx geo) here on change.
    exports_dir: str = ""


def _nftables() -> Enforcer:
    from shieldwall.enforcers.nftables import NftablesEnforcer, open_runner

    return NftablesEnforcer(open_runner("auto"))


def _memory() -> Enforcer:
    from shieldwall.enforcers.memory import MemoryEnforcer

    return MemoryEnforcer()


#: Every backend ``[enforce] backend`` may name.
ENFORCERS: dict[Backend, Callable[[], Enforcer]] = {
    "nftables": _nftables,
    "memory": _memory,
    "none": _memory,
}


def make_enforcer(spec: EnforceSpec, notes: NoteSink) -> Enforcer:
    """The enforcer ``spec`` names; raises ``EnforcerError`` when it cannot run here."""
    if spec.dry_run:
        from shieldwall.enforcers.dry_run import DryRunEnforcer

        return DryRunEnforcer(notes)
    return ENFORCERS[spec.backend]()
