"""The hub's configuration: ``<data>/hub.toml``, parsed once into a frozen object.

Example::

    listen = "0.0.0.0:8443"
    public_address = "hub.example.org:8443"   # what join tokens tell members
    public_addresses = ["10.0.0.1:8443", "10.0.0.2:8443"]  # replicas: tokens list them all
    pinned = ["9c1e..."]        # other replicas' certificate fingerprints (if not shared)
    allowlist = ["198.51.100.0/24"]           # alliance-wide never-block CIDRs
    never_block = ["/etc/shieldwall/resolvers.txt"]   # files or folders of lists
    policy = "policy.toml"                    # relative to the data folder
    heartbeat = "15s"                         # keep-alive on the decision stream
    # Bounds against hostile clients and members (defaults shown):
    header_timeout = "10s"      # request headers must arrive within this
    body_timeout = "30s"        # request bodies too
    body_budget = 268435456     # bytes all unfinished bodies may hold together
    max_connections = 8192      # open connections (the unit's LimitNOFILE is above)
    streams_per_member = 4      # decision streams one member may hold open
    signals_per_hour = 200000   # per member; beyond, envelopes get 429 "quota"
    retention = "90d"           # signals and batches older than this are deleted
    operators = ["ops-laptop"]  # members whose bans are the operator's (default: none)
    database = "postgresql://shieldwall@db.example.org/shieldwall"  # replicas (default: SQLite)
    readiness_grace = "10m"     # a member failing this long does not count toward a quorum
    drill_every = "7d"          # a drill on every member this often (default: "0s", off)
    ui_allow = ["10.0.0.0/8"]   # who else may open the dashboard /ui/ (loopback always may)
    council = "/etc/shieldwall/council"   # the council's folder: the hub runs under its charter
    charter = "3f2a..."         # hex digest of the founding charter (pins the council)

Keys are checked by :mod:`shieldwall.config`: a misspelt one is an error naming it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from shieldwall.addresses import Labelled, load_ranges, parse_ranges
from shieldwall.config import Duration, Section, load_toml, problem
from shieldwall.errors import ConfigError, HubError
from shieldwall.hub.policy_config import PolicyConfig, load_policy
from shieldwall.hub.protections import Protections
from shieldwall.signals.hub_addresses import check_addresses, check_fingerprints

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
    #: Seconds a connection may take to send a request's headers (slow-loris bound).
    header_timeout: float = 10.0
    #: Seconds a request body may take to arrive.
    body_timeout: float = 30.0
    #: Bytes all unfinished request bodies may hold together.
    body_budget: int = 256 * 1024 * 1024
    #: Open connections at most (beyond: 503); the unit's LimitNOFILE is above it.
    max_connections: int = 8192
    #: Decision streams one member may hold open at once.
    streams_per_member: int = 4
    #: Signals one member may send per hour (beyond: 429 ``quota``).
    signals_per_hour: int = 200_000
    #: Signals and batches older than this are deleted (decisions are kept).
    retention: float = 90 * 86400.0
    #: Members whose keys are the operator's: their bans decide at once, as the operator.
    operators: tuple[str, ...] = ()
    #: Every replica's address for join tokens (empty: just ``public_address``).
    public_addresses: tuple[str, ...] = ()
    #: Fingerprints of other replicas' certificates, when they do not share this one.
    pinned: tuple[str, ...] = ()
    #: The PostgreSQL ledger every replica shares ("" = the SQLite file in data_dir).
    database: str = ""
    #: A member failing its readiness for longer than this does not count toward a quorum.
    readiness_grace: float = 600.0
    #: Order a drill on every active member this often (0: only ``shieldwall drill run``).
    drill_every: float = 0.0
    #: The council's folder (``shieldwall council``): the hub decides only under its charter.
    council_dir: Path | None = None
    #: Hex digest of the council's founding charter, pinned (with ``council_dir``).
    charter: str = ""
    #: Client ranges the dashboard (``/ui/``) answers besides loopback.
    ui_allow: tuple[str, ...] = ()

    @property
    def join_addresses(self) -> tuple[str, ...]:
        """The addresses a join token lists, in the order members try them."""
        return self.public_addresses or (self.public_address,)

    @property
    def ledger_path(self) -> Path:
        """The SQLite file."""
        return self.data_dir / LEDGER_FILE

    def policy(self) -> PolicyConfig:
        """The policy table (the shipped default when no file is configured), with the
        hub's secret canaries (``canaries.txt``, see :mod:`shieldwall.hub.canaries`)."""
        from dataclasses import replace

        from shieldwall.hub.canaries import load_canaries

        if self.policy_file is None or not self.policy_file.exists():
            policy = load_policy()
        else:
            policy = load_policy(self.policy_file.read_text(), str(self.policy_file))
        return replace(policy, canaries=load_canaries(self.data_dir))

    def protections(self) -> Protections:
        """Allowlist, never-block lists and the hub's own address (not members': see writer)."""
        entries = [*parse_ranges(self.allowlist, "alliance allowlist").entries]
        entries += load_ranges(self.never_block).entries
        for address in (self.listen, self.public_address, *self.public_addresses):
            host, _ = split_host_port(address)
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                continue  # a host name: protected by whoever resolves it, not here
            if not ip.is_unspecified:
                entries.append(Labelled(ipaddress.ip_network(ip), "the hub itself"))
        return Protections(entries)


class _HubFile(Section, frozen=True):
    listen: str = DEFAULT_LISTEN
    public_address: str = "127.0.0.1:8443"
    allowlist: tuple[str, ...] = ()
    never_block: tuple[str, ...] = ()
    policy: str = "policy.toml"
    max_body: Annotated[int, msgspec.Meta(ge=1)] = 4 * 1024 * 1024
    heartbeat: Duration = Duration(15.0)
    page_size: Annotated[int, msgspec.Meta(ge=1)] = 1000
    header_timeout: Duration = Duration(10.0)
    body_timeout: Duration = Duration(30.0)
    body_budget: Annotated[int, msgspec.Meta(ge=65536)] = 256 * 1024 * 1024
    max_connections: Annotated[int, msgspec.Meta(ge=16)] = 8192
    streams_per_member: Annotated[int, msgspec.Meta(ge=1)] = 4
    signals_per_hour: Annotated[int, msgspec.Meta(ge=1)] = 200_000
    retention: Duration = Duration(90 * 86400.0)
    operators: tuple[str, ...] = ()
    public_addresses: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()
    database: str = ""
    readiness_grace: Duration = Duration(600.0)
    drill_every: Duration = Duration(0.0)
    council: str = ""
    charter: Annotated[str, msgspec.Meta(pattern="^([0-9a-f]{64})?$")] = ""
    ui_allow: tuple[str, ...] = ()


def load_hub_config(data_dir: Path) -> HubConfig:
    """Read ``<data_dir>/hub.toml``; errors name the key."""
    path = data_dir / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found; run `shieldwall hub init --data {data_dir}`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    file = load_toml(text, _HubFile, str(path))
    for key in ("listen", "public_address"):
        try:
            split_host_port(getattr(file, key))
        except ConfigError as exc:
            raise problem(str(path), key, str(exc)) from None
    for key in ("heartbeat", "header_timeout", "body_timeout", "retention"):
        if getattr(file, key) <= 0:
            raise problem(str(path), key, f"must be a positive duration, got {getattr(file, key):g}")
    for index, entry in enumerate(file.allowlist):
        try:
            parse_ranges([entry], "alliance allowlist")
        except ConfigError as exc:
            raise problem(str(path), f"allowlist[{index}]", str(exc)) from None
    for index, entry in enumerate(file.ui_allow):
        try:
            parse_ranges([entry], "ui_allow", widen=False)
        except ConfigError as exc:
            raise problem(str(path), f"ui_allow[{index}]", str(exc)) from None
    for key, check in (("public_addresses", check_addresses), ("pinned", check_fingerprints)):
        try:
            if getattr(file, key):
                check(getattr(file, key))
        except HubError as exc:
            raise problem(str(path), key, str(exc)) from None
    if file.database and not file.database.startswith(("postgresql://", "postgres://")):
        raise problem(str(path), "database", "must be a postgresql://USER@HOST/DB URL")
    if bool(file.council) != bool(file.charter):
        raise problem(str(path), "charter" if file.council else "council",
                      "council and charter go together: the folder and its founding charter's digest")
    return HubConfig(
        data_dir=data_dir,
        listen=file.listen,
        public_address=file.public_address,
        allowlist=file.allowlist,
        never_block=tuple(data_dir / p for p in file.never_block),
        policy_file=data_dir / file.policy,
        max_body=file.max_body,
        heartbeat=float(file.heartbeat),
        page_size=file.page_size,
        header_timeout=float(file.header_timeout),
        body_timeout=float(file.body_timeout),
        body_budget=file.body_budget,
        max_connections=file.max_connections,
        streams_per_member=file.streams_per_member,
        signals_per_hour=file.signals_per_hour,
        retention=float(file.retention),
        operators=file.operators,
        public_addresses=check_addresses(file.public_addresses) if file.public_addresses else (),
        pinned=file.pinned,
        database=file.database,
        readiness_grace=float(file.readiness_grace),
        drill_every=float(file.drill_every),
        council_dir=(data_dir / file.council) if file.council else None,
        charter=file.charter,
        ui_allow=file.ui_allow,
    )


def render_hub_config(
    listen: str, public_address: str, never_block: list[str], allowlist: list[str],
    database: str = "",
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
        'heartbeat = "15s"\n'
        + ("# The PostgreSQL ledger all replicas share (`shieldwall hub serve` on each).\n"
           f"database = {msgspec.json.encode(database).decode()}\n" if database else "")
    )
