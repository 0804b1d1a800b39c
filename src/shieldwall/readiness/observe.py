"""Run every probe once for a member's configuration: the I/O half of one evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.runtime import _enforce_allowlist as enforce_allowlist
from shieldwall.enforcers.nftables import NftablesEnforcer
from shieldwall.readiness.evaluate import Observation
from shieldwall.readiness.link import HubView
from shieldwall.readiness.liveness import GapEstimate, update_gap
from shieldwall.readiness.probe_hub import ask_hub, member_of
from shieldwall.readiness.probe_sources import pack_versions, source_view
from shieldwall.readiness.probe_state import load_gaps, read_outbox, save_gaps
from shieldwall.readiness.probe_table import read_enforcement
from shieldwall.readiness.stream_report import read_stream_report
from shieldwall.readiness.verdict import DEFAULT_THRESHOLDS, Thresholds


async def observe(
    config: AgentConfig,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    *,
    enforcer: NftablesEnforcer | None = None,
    clock: Callable[[], float] = time.time,
) -> Observation:
    """Probe the hub, the table, the sources, the packs and the outbox of ``config``.

    The per-source gap estimates are updated with what was seen and saved beside
    the agent's state (when this user may write there).
    """
    data_dir = config.data_dir
    outbox = read_outbox(data_dir)
    stream = read_stream_report(data_dir)
    member, missing = member_of(data_dir)
    if member is None:
        hub = missing or HubView(joined=False)
    else:
        hub = await ask_hub(member, outbox.cursor or 0, timeout=limits.hub_timeout,
                            stream=stream, clock=clock)
    sources = tuple(source_view(spec) for spec in config.sources)
    gaps = load_gaps(data_dir)
    for view in sources:
        gaps[view.label] = update_gap(gaps.get(view.label, GapEstimate()), view.last_line_at)
    save_gaps(data_dir, gaps)
    return Observation(
        hub=hub,
        enforcement=read_enforcement(data_dir, clock(), backend=config.backend,
                                     dry_run=config.dry_run, enforcer=enforcer,
                                     protected=enforce_allowlist(config.enforce_allow)),
        sources=sources,
        gaps=gaps,
        versions=pack_versions(config.sources),
        outbox=outbox,
        drill=None,  # drills do not exist yet: R8 says "no drill yet"
    )

