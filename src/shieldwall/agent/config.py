"""The agent's configuration: one TOML file, parsed once into frozen objects.

See ``deploy/agent.toml`` for a documented example. The file's schema is the
sections below, read by :mod:`shieldwall.config`: a misspelt key, a wrong type
or an out-of-range value is an error naming the key path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from shieldwall.addresses import DEFAULT_IPV6_PREFIX
from shieldwall.config import Duration, Network, Section, load_toml, problem
from shieldwall.enforcers.registry import Backend, EnforceSpec
from shieldwall.errors import ConfigError
from shieldwall.readiness.verdict import DEFAULT_THRESHOLDS, Thresholds
from shieldwall.sources import SourceSpec

DEFAULT_DATA_DIR = Path("/var/lib/shieldwall/member")

#: A ``[[sources]]`` table: the sources registry's own spec type.
SourceConfig = SourceSpec

_PACK_HINT = "name the pattern pack that reads this source, e.g. 'sshd'"


class _AgentSection(Section, frozen=True):
    data_dir: str = str(DEFAULT_DATA_DIR)
    name: str = ""
    batch_size: Annotated[int, msgspec.Meta(ge=1)] = 500


class _DetectionSection(Section, frozen=True):
    scenarios: str = ""
    allow: tuple[Network, ...] = ()
    ipv6_prefix: Annotated[int, msgspec.Meta(ge=1, le=128)] = DEFAULT_IPV6_PREFIX
    #: Reverse proxies in front of this host and the host's own addresses: never blamed.
    proxies: tuple[Network, ...] = ()
    own_addresses: tuple[Network, ...] = ()
    #: Put a source's lines back in log-time order within this much log time (0: off).
    reorder: Duration = Duration(0.0)


class _AgentFile(Section, frozen=True):
    agent: _AgentSection = msgspec.field(default_factory=_AgentSection)
    sources: tuple[SourceSpec, ...] = ()
    detection: _DetectionSection = msgspec.field(default_factory=_DetectionSection)
    enforce: EnforceSpec = msgspec.field(default_factory=EnforceSpec)
    readiness: Thresholds = msgspec.field(default_factory=Thresholds)


@dataclass(frozen=True)
class AgentConfig:
    """Everything ``shieldwall agent run`` needs."""

    data_dir: Path = DEFAULT_DATA_DIR
    name: str = ""
    sources: tuple[SourceSpec, ...] = ()
    scenarios: str | None = None
    detect_allow: tuple[str, ...] = ()
    ipv6_prefix: int = DEFAULT_IPV6_PREFIX
    backend: Backend = "nftables"
    dry_run: bool = False
    enforce_allow: tuple[str, ...] = ()
    #: Apply this member's own detections at once (each scenario's ``local_block``),
    #: before the hub answers.
    local_first: bool = True
    exports_dir: str = ""
    #: Signals per envelope (one signature per batch).
    batch_size: int = 500
    #: ``[readiness]``: where each check R1-R8 turns degraded or failing.
    readiness: Thresholds = DEFAULT_THRESHOLDS
    #: ``detection.proxies`` / ``detection.own_addresses``: never blamed (detection/proxies.py).
    proxies: tuple[str, ...] = ()
    own_addresses: tuple[str, ...] = ()
    #: ``detection.reorder``: seconds of log time (detection/reorder.py); 0 turns it off.
    reorder: float = 0.0

    @property
    def enforce(self) -> EnforceSpec:
        """The ``[enforce]`` table, as the enforcer registry reads it."""
        return EnforceSpec(
            backend=self.backend, dry_run=self.dry_run,
            allow=tuple(map(Network, self.enforce_allow)),
            local_first=self.local_first, exports_dir=self.exports_dir,
        )


def parse_agent_config(text: str, origin: str = "<string>") -> AgentConfig:
    """Parse the agent's TOML; every error names the key to fix."""
    file = load_toml(text, _AgentFile, origin)
    for index, source in enumerate(file.sources):
        if not source.pack:
            raise problem(origin, f"sources[{index}].pack", f"{_PACK_HINT} (required key is missing)")
        if source.kind == "file" and not source.path:
            raise problem(origin, f"sources[{index}].path", "a file source needs the log file's path")
    return AgentConfig(
        data_dir=Path(file.agent.data_dir),
        name=file.agent.name,
        sources=file.sources,
        scenarios=file.detection.scenarios or None,
        detect_allow=tuple(file.detection.allow),
        ipv6_prefix=file.detection.ipv6_prefix,
        backend=file.enforce.backend,
        dry_run=file.enforce.dry_run,
        enforce_allow=tuple(file.enforce.allow),
        local_first=file.enforce.local_first,
        exports_dir=file.enforce.exports_dir,
        batch_size=file.agent.batch_size,
        readiness=file.readiness,
        proxies=tuple(file.detection.proxies),
        own_addresses=tuple(file.detection.own_addresses),
        reorder=float(file.detection.reorder),
    )


def load_agent_config(path: str | Path) -> AgentConfig:
    """Read and parse the agent's configuration file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read agent configuration {path}: {exc.strerror} "
            "(see deploy/agent.toml for an example)"
        ) from None
    return parse_agent_config(text, str(path))
