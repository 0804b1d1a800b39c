"""Run every probe once for a member's configuration: the I/O half of one evaluation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.runtime import _enforce_allowlist as enforce_allowlist
from shieldwall.enforcers.nftables import NftablesEnforcer
from shieldwall.readiness.alliance_cache import drill_of, load_answer, with_alliance
from shieldwall.readiness.evaluate import Observation
from shieldwall.readiness.link import HubView
from shieldwall.readiness.liveness import GapEstimate, update_gap
from shieldwall.readiness.probe_hub import ask_hub, member_of
from shieldwall.readiness.probe_sources import pack_versions, source_view
from shieldwall.readiness.probe_state import load_gaps, read_outbox, save_gaps
from shieldwall.readiness.probe_table import read_enforcement
from shieldwall.readiness.stream_report import read_stream_report
from shieldwall.readiness.verdict import DEFAULT_THRESHOLDS, Thresholds


def observe_local(
    config: AgentConfig,
    now: float,
    *,
    enforcer: NftablesEnforcer | None = None,
) -> Observation:
    """Every probe but the hub's (blocking: the agent runs it in a thread).

    The per-source gap estimates are updated with what was seen and saved beside
    the agent's state (when this user may write there); R5 and R8 are judged against
    the hub's last heartbeat answer the agent saved.
    """
    data_dir = config.data_dir
    sources = tuple(source_view(spec) for spec in config.sources)
    gaps = load_gaps(data_dir)
    for view in sources:
        gaps[view.label] = update_gap(gaps.get(view.label, GapEstimate()), view.last_line_at)
    save_gaps(data_dir, gaps)
    answer = load_answer(data_dir)
    drill, drilled = drill_of(answer)
    return Observation(
        enforcement=read_enforcement(data_dir, now, backend=config.backend,
                                     dry_run=config.dry_run, enforcer=enforcer,
                                     protected=enforce_allowlist(config.enforce_allow)),
        sources=sources,
        gaps=gaps,
        versions=with_alliance(pack_versions(config.sources), answer),
        outbox=read_outbox(data_dir),
        drill=drill,
        alliance_drilled=drilled,
    )


async def observe(
    config: AgentConfig,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    *,
    enforcer: NftablesEnforcer | None = None,
    clock: Callable[[], float] = time.time,
) -> Observation:
    """Probe the hub, the table, the sources, the packs and the outbox of ``config``."""
    local = observe_local(config, clock(), enforcer=enforcer)
    stream = read_stream_report(config.data_dir)
    member, missing = member_of(config.data_dir)
    if member is None:
        hub = missing or HubView(joined=False)
    else:
        hub = await ask_hub(member, local.outbox.cursor or 0, timeout=limits.hub_timeout,
                            stream=stream, clock=clock)
    return replace(local, hub=hub)
