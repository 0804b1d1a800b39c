"""Real agents and a real hub: a member's declared proxies reach the hub at start, and the
alliance's block of that address (on the others' reports) is never applied on the member."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from shieldwall.agent.config import AgentConfig
from shieldwall.hub.config import HubConfig

from .hub_harness import ledger_of, running_hub
from .test_agent_hub import Member, attack_lines, cluster, config, members, running, until

__all__ = ["cluster", "config"]  # the hub fixture on both backends, shared with test_agent_hub

PROXY = "45.33.98.10"


class BehindProxy(Member):
    """A member whose agent.toml names a reverse proxy in front of it."""

    def config(self) -> AgentConfig:
        return dataclasses.replace(super().config(), proxies=(PROXY,))


async def test_a_declared_proxy_reaches_the_hub_and_is_never_blocked_on_its_member(
    tmp_path: Path, config: HubConfig
) -> None:
    async with running_hub(config):
        a, b, c = await members(tmp_path, config, "a", "b", "c")
        a = BehindProxy(a.data_dir, a.log)
        async with running(a), running(b), running(c):
            await until(lambda: any(e == "hub.proxies" for e, _ in a.notes))
            assert [f for e, f in a.notes if e == "hub.proxies"] == [{"proxies": [PROXY]}]
            # a's own log blames its proxy: refused on a (and it would be at the hub)
            with a.log.open("a") as log:
                log.write(attack_lines(PROXY, 8))
            # b's log blames the same address: the alliance blocks it on b and c, never on a
            with b.log.open("a") as log:
                log.write(attack_lines(PROXY, 8))
            await until(lambda: PROXY in b.blocked() and PROXY in c.blocked())
            await until(lambda: any(e == "decision" for e, _ in a.notes))
            assert PROXY not in a.blocked()
    async with ledger_of(config) as ledger:
        assert await ledger.declared_proxies() == {"a": (PROXY,)}
        stored = await ledger.signals_for([PROXY], 10)
    assert {s.member for s in stored} == {"b"}  # a's agent never reported its own proxy
