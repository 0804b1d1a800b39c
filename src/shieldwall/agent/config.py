"""The agent's configuration: one TOML file, parsed once into frozen objects.

See ``deploy/agent.toml`` for a documented example. Errors name the key path.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from shieldwall.errors import AddressError, ConfigError
from shieldwall.events.address import DEFAULT_IPV6_PREFIX, parse_network

DEFAULT_DATA_DIR = Path("/var/lib/shieldwall/member")

SourceKind = Literal["file", "journald", "stdin"]
Backend = Literal["nftables", "memory", "none"]


@dataclass(frozen=True)
class SourceConfig:
    """One log source and the pack that reads it."""

    kind: SourceKind
    pack: str
    path: str = ""
    units: tuple[str, ...] = ()
    comms: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """A stable name for positions and logs."""
        if self.kind == "file":
            return f"file:{self.path}"
        if self.kind == "journald":
            return "journald:" + ",".join(self.units or self.comms)
        return "stdin"


@dataclass(frozen=True)
class AgentConfig:
    """Everything ``shieldwall agent run`` needs."""

    data_dir: Path = DEFAULT_DATA_DIR
    name: str = ""
    sources: tuple[SourceConfig, ...] = ()
    scenarios: str | None = None
    detect_allow: tuple[str, ...] = ()
    ipv6_prefix: int = DEFAULT_IPV6_PREFIX
    backend: Backend = "nftables"
    dry_run: bool = False
    enforce_allow: tuple[str, ...] = ()
    #: Apply this member's own confirmed detections at once, before the hub answers.
    local_first: bool = True
    exports_dir: str = ""
    #: Signals per envelope (one signature per batch).
    batch_size: int = 500


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}{key}: expected a table")
    return value


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of strings")
    return tuple(value)


def _networks(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    entries = _strings(table, key, where)
    for index, entry in enumerate(entries):
        try:
            parse_network(entry)
        except AddressError as exc:
            raise ConfigError(f"{where}.{key}[{index}]: {exc}") from None
    return entries


def parse_agent_config(text: str, origin: str = "<string>") -> AgentConfig:
    """Parse the agent's TOML; every error names the key to fix."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    where = f"{origin}: "
    agent = _table(data, "agent", where)
    detection = _table(data, "detection", where)
    enforce = _table(data, "enforce", where)
    sources: list[SourceConfig] = []
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{where}sources: expected [[sources]] tables")
    for index, raw in enumerate(raw_sources):
        at = f"{where}sources[{index}]"
        kind = raw.get("kind", "file")
        if kind not in ("file", "journald", "stdin"):
            raise ConfigError(f"{at}.kind: one of file, journald, stdin; got {kind!r}")
        pack = raw.get("pack", "")
        if not isinstance(pack, str) or not pack:
            raise ConfigError(f"{at}.pack: name the pattern pack that reads this source, e.g. 'sshd'")
        path = raw.get("path", "")
        if kind == "file" and (not isinstance(path, str) or not path):
            raise ConfigError(f"{at}.path: a file source needs the log file's path")
        sources.append(
            SourceConfig(
                kind=cast(SourceKind, kind),
                pack=pack,
                path=str(path),
                units=_strings(raw, "units", at),
                comms=_strings(raw, "comms", at),
            )
        )
    backend = enforce.get("backend", "nftables")
    if backend not in ("nftables", "memory", "none"):
        raise ConfigError(f"{where}enforce.backend: one of nftables, memory, none; got {backend!r}")
    prefix = detection.get("ipv6_prefix", DEFAULT_IPV6_PREFIX)
    if not isinstance(prefix, int) or not 1 <= prefix <= 128:
        raise ConfigError(f"{where}detection.ipv6_prefix: a prefix length 1..128, got {prefix!r}")
    batch = agent.get("batch_size", 500)
    if not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"{where}agent.batch_size: a positive whole number, got {batch!r}")
    scenarios = detection.get("scenarios") or None
    if scenarios is not None and not isinstance(scenarios, str):
        raise ConfigError(f"{where}detection.scenarios: a path to a scenarios TOML file")
    return AgentConfig(
        data_dir=Path(agent.get("data_dir", str(DEFAULT_DATA_DIR))),
        name=str(agent.get("name", "")),
        sources=tuple(sources),
        scenarios=scenarios,
        detect_allow=_networks(detection, "allow", f"{where}detection"),
        ipv6_prefix=prefix,
        backend=cast(Backend, backend),
        dry_run=bool(enforce.get("dry_run", False)),
        enforce_allow=_networks(enforce, "allow", f"{where}enforce"),
        local_first=bool(enforce.get("local_first", True)),
        exports_dir=str(enforce.get("exports_dir", "")),
        batch_size=batch,
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
