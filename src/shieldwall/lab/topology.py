"""The lab's network as data: one namespace per node, all joined by one bridge.

A "switch" namespace holds a Linux bridge; every node (hub, members, attacker)
gets its own namespace and a veth pair whose node end is ``eth0`` inside the
node and whose switch end is enslaved to the bridge. Both ends are created
directly inside namespaces (``ip link add ... netns``), so nothing ever appears
in the host's own namespace, and names only need to be unique per namespace:
the random suffix on the namespace names is what lets parallel labs coexist.

Addresses come from a lab range (``10.77.0.0/24`` and ``fd77::/64`` by default)
and exist only inside these namespaces.

Everything here is pure: :func:`plan_lab` returns a :class:`Topology`, and the
``*_commands`` functions render ``ip`` argv lists that :mod:`.runner` executes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from shieldwall.errors import ConfigError

DEFAULT_V4 = "10.77.0.0/24"
DEFAULT_V6 = "fd77::/64"
#: Namespace names start with this, so a forgotten lab is easy to recognise.
PREFIX = "swlab"
NODE_IFACE = "eth0"
BRIDGE = "br0"
_NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")
_SUFFIX = re.compile(r"^[a-z0-9]{4,12}$")


@dataclass(frozen=True)
class Node:
    """One host of the lab."""

    name: str
    netns: str
    v4: str
    v6: str
    #: Further IPv4 addresses on the same interface (an attacker with several).
    extra_v4: tuple[str, ...] = ()

    @property
    def switch_port(self) -> str:
        """The veth end in the switch namespace (``p-<name>``, at most 15 chars)."""
        return f"p-{self.name}"

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address this node holds."""
        return (self.v4, *self.extra_v4, self.v6)


@dataclass(frozen=True)
class Topology:
    """A planned lab: a switch namespace and its nodes."""

    suffix: str
    switch: str
    nodes: tuple[Node, ...]
    v4_prefix: int
    v6_prefix: int

    def node(self, name: str) -> Node:
        """The node called ``name``; raises ConfigError."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise ConfigError(f"the lab has no node {name!r} (nodes: "
                          f"{', '.join(n.name for n in self.nodes)})")

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace of the lab, switch last (nodes hang off it)."""
        return (*(n.netns for n in self.nodes), self.switch)


def plan_lab(
    names: Sequence[str],
    suffix: str,
    *,
    v4_network: str = DEFAULT_V4,
    v6_network: str = DEFAULT_V6,
    extra_v4: dict[str, int] | None = None,
) -> Topology:
    """Plan a lab with one node per name (host numbers 1, 2, ... in name order).

    ``extra_v4`` gives some nodes further IPv4 addresses (numbered from 100, or
    after the last node when there are more than 99).
    Raises :class:`ConfigError` on a bad name, suffix or range.
    """
    if not _SUFFIX.match(suffix):
        raise ConfigError(f"lab suffix must be 4-12 lowercase letters/digits, not {suffix!r}")
    if len(set(names)) != len(names) or not names:
        raise ConfigError("lab node names must be unique and at least one")
    try:
        v4 = ipaddress.IPv4Network(v4_network)
        v6 = ipaddress.IPv6Network(v6_network)
    except ValueError as exc:
        raise ConfigError(f"bad lab range: {exc}") from None
    extra = extra_v4 or {}
    next_extra = max(100, len(names) + 1)
    if v4.num_addresses < next_extra + sum(extra.values()) + 1:
        raise ConfigError(f"lab range {v4} too small for {len(names)} nodes")
    nodes: list[Node] = []
    for index, name in enumerate(names, start=1):
        if not _NODE_NAME.match(name):
            raise ConfigError(f"lab node name must be 1-10 lowercase letters/digits: {name!r}")
        more = []
        for _ in range(extra.get(name, 0)):
            more.append(str(v4[next_extra]))
            next_extra += 1
        nodes.append(Node(
            name=name,
            netns=f"{PREFIX}-{suffix}-{name}",
            v4=str(v4[index]),
            v6=str(v6[index]),
            extra_v4=tuple(more),
        ))
    return Topology(
        suffix=suffix, switch=f"{PREFIX}-{suffix}-sw", nodes=tuple(nodes),
        v4_prefix=v4.prefixlen, v6_prefix=v6.prefixlen,
    )


def setup_commands(topo: Topology) -> list[list[str]]:
    """``ip`` commands that build the lab, in order (namespaces first)."""
    sw = topo.switch
    cmds: list[list[str]] = [
        ["ip", "netns", "add", sw],
        ["ip", "-n", sw, "link", "set", "lo", "up"],
        ["ip", "-n", sw, "link", "add", BRIDGE, "type", "bridge"],
        ["ip", "-n", sw, "link", "set", BRIDGE, "up"],
    ]
    for node in topo.nodes:
        ns = node.netns
        cmds += [
            ["ip", "netns", "add", ns],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", sw, "link", "add", node.switch_port, "type", "veth",
             "peer", "name", NODE_IFACE, "netns", ns],
            ["ip", "-n", sw, "link", "set", node.switch_port, "master", BRIDGE],
            ["ip", "-n", sw, "link", "set", node.switch_port, "up"],
            ["ip", "-n", ns, "addr", "add", f"{node.v4}/{topo.v4_prefix}", "dev", NODE_IFACE],
            *(
                ["ip", "-n", ns, "addr", "add", f"{a}/{topo.v4_prefix}", "dev", NODE_IFACE]
                for a in node.extra_v4
            ),
            # nodad: the address is usable at once instead of after duplicate detection.
            ["ip", "-n", ns, "addr", "add", f"{node.v6}/{topo.v6_prefix}", "dev", NODE_IFACE,
             "nodad"],
            ["ip", "-n", ns, "link", "set", NODE_IFACE, "up"],
        ]
    return cmds


def teardown_commands(topo: Topology) -> list[list[str]]:
    """``ip`` commands that remove the lab (deleting a namespace deletes its veth ends)."""
    return [["ip", "netns", "delete", ns] for ns in topo.namespaces]


def link_command(topo: Topology, name: str, up: bool) -> list[str]:
    """Take a node's link down or up, at the switch (the node keeps its address)."""
    node = topo.node(name)
    return ["ip", "-n", topo.switch, "link", "set", node.switch_port, "up" if up else "down"]


def netns_exec(netns: str, argv: Sequence[str]) -> list[str]:
    """``argv`` run inside ``netns``."""
    return ["ip", "netns", "exec", netns, *argv]
