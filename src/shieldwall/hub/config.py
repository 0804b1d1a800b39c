"""The hub's configuration: ``<data>/hub.toml``, parsed once into a frozen object.

Example::

    listen = "0.0.0.0:8443"
    public_address = "hub.example.org:8443"   # what join tokens tell members
    allowlist = ["198.51.100.0/24"]           # alliance-wide never-block CIDRs
    never_block = ["/etc/shieldwall/resolvers.txt"]   # files or folders of lists
    policy = "policy.toml"                    # relative to the data folder
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shieldwall.errors import AddressError, ConfigError
from shieldwall.hub.policy import PolicyConfig, load_policy
from shieldwall.hub.protections import Protected, Protections, parse_never_block_list

DEFAULT_HUB_DIR = Path("/var/lib/shieldwall/hub")
CONFIG_FILE = "hub.toml"
LEDGER_FILE = "ledger.db"
DEFAULT_LISTEN = "0.0.0.0:8443"


def split_host_port(text: str, default_port: int = 8443) -> tuple[str, int]:
    """``host:port`` (IPv6 in brackets) into its parts; raises ConfigError."""
    raw = text.strip()
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
    elif ":" in raw:
        host, port_text = raw, ""  # a bare IPv6 address
    else:
        host, port_text = raw, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ConfigError(f"not a host:port: {text!r}") from None
    if not host or not 0 < port < 65536:
        raise ConfigError(f"not a host:port: {text!r}")
    return host, port


def join_host_port(host: str, port: int) -> str:
    """The inverse of :func:`split_host_port`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True)
class HubConfig:
    """Everything ``hub serve`` needs, resolved to absolute paths."""

    data_dir: Path
    listen: str = DEFAULT_LISTEN
    public_address: str = "127.0.0.1:8443"
    allowlist: tuple[str, ...] = ()
    never_block: tuple[Path, ...] = ()
    policy_file: Path | None = None
    max_body: int = 4 * 1024 * 1024
    heartbeat: float = 15.0
    page_size: int = 1000
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ledger_path(self) -> Path:
        """The SQLite file."""
        return self.data_dir / LEDGER_FILE

    def policy(self) -> PolicyConfig:
        """The policy table (the shipped default when no file is configured)."""
        if self.policy_file is None or not self.policy_file.exists():
            return load_policy()
        return load_policy(self.policy_file.read_text(), str(self.policy_file))

    def protections(self) -> Protections:
        """Allowlist, never-block lists and the hub's own address (not members': see writer)."""
        entries: list[Protected] = []
        for text in self.allowlist:
            entries += parse_never_block_list(text, "alliance allowlist")
        for path in self.never_block:
            files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
            for file in files:
                try:
                    entries += parse_never_block_list(file.read_text(), f"never-block {file.name}")
                except OSError as exc:
                    raise ConfigError(f"cannot read never-block list {file}: {exc}") from None
                except AddressError as exc:
                    raise ConfigError(str(exc)) from None
        for address in (self.listen, self.public_address):
            host, _ = split_host_port(address)
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                continue  # a host name: protected by whoever resolves it, not here
            if not ip.is_unspecified:
                entries += parse_never_block_list(str(ip), "the hub itself")
        return Protections(entries)


def load_hub_config(data_dir: Path) -> HubConfig:
    """Read ``<data_dir>/hub.toml``; errors name the key."""
    path = data_dir / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found; run `shieldwall hub init --data {data_dir}`"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None

    def text_list(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {key} must be a list of strings")
        return tuple(value)

    def number(key: str, default: float) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"{path}: {key} must be a positive number")
        return float(value)

    for key in ("listen", "public_address", "policy"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{path}: {key} must be a string")
    policy = data.get("policy", "policy.toml")
    config = HubConfig(
        data_dir=data_dir,
        listen=data.get("listen", DEFAULT_LISTEN),
        public_address=data.get("public_address", "127.0.0.1:8443"),
        allowlist=text_list("allowlist"),
        never_block=tuple(data_dir / p for p in text_list("never_block")),
        policy_file=data_dir / policy,
        max_body=int(number("max_body", 4 * 1024 * 1024)),
        heartbeat=number("heartbeat", 15.0),
        page_size=int(number("page_size", 1000)),
    )
    split_host_port(config.listen)
    split_host_port(config.public_address)
    return config


def render_hub_config(
    listen: str, public_address: str, never_block: list[str], allowlist: list[str]
) -> str:
    """The ``hub.toml`` that ``hub init`` writes."""

    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"

    return (
        "# Shieldwall hub configuration (see `shieldwall hub --help`).\n"
        f'listen = "{listen}"\n'
        "# The address join tokens send members to.\n"
        f'public_address = "{public_address}"\n'
        "# Alliance-wide CIDRs no signal may block.\n"
        f"allowlist = {toml_list(allowlist)}\n"
        "# Never-block lists: files (one address/CIDR per line) or folders of *.txt.\n"
        f"never_block = {toml_list(never_block)}\n"
        'policy = "policy.toml"\n'
        "heartbeat = 15\n"
    )
