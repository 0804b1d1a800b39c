"""This host's own addresses protect it from its own local-first blocks."""

from __future__ import annotations

import ipaddress

from shieldwall.addresses import Labelled, Ranges
from shieldwall.agent.core import AgentCore, Enforce, Note
from shieldwall.agent.host import parse_ip_addr
from shieldwall.detection.scenario import default_scenarios
from shieldwall.events.packs import load_pack

# Recorded from `ip -j addr` on a Debian 12 machine (addresses changed to test ranges).
RECORDED = b"""[{"ifindex":1,"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},
{"family":"inet6","local":"::1","prefixlen":128}]},{"ifindex":2,"ifname":"eth0","addr_info":[
{"family":"inet","local":"192.0.2.2","prefixlen":24},{"family":"inet6","local":"2001:db8:7:1::a","prefixlen":64},
{"family":"inet6","local":"fe80::fc:ff:fe00:1","prefixlen":64}]},{"ifindex":3,"ifname":"ifb0","addr_info":[]}]"""


def test_every_interface_address_is_read_as_a_host_network() -> None:
    found = {str(n) for n in parse_ip_addr(RECORDED)}
    assert found == {"127.0.0.1/32", "::1/128", "192.0.2.2/32", "2001:db8:7:1::a/128",
                     "fe80::fc:ff:fe00:1/128"}


def test_unreadable_output_gives_no_address() -> None:
    assert parse_ip_addr(b"not json") == []
    assert parse_ip_addr(b'[{"addr_info": [{"local": "not-an-ip"}]}]') == []


def test_a_local_block_of_the_prefix_holding_this_host_is_skipped() -> None:
    own = Ranges(Labelled(n, "this host's address") for n in parse_ip_addr(RECORDED))
    core = AgentCore(default_scenarios(), enforce_allow=own)
    core.add_source("auth", [load_pack("sshd")], 2027)
    lines = b"".join(
        f"2027-01-15T10:00:{i:02d}+00:00 h sshd[{i}]: Failed password for root from "
        f"2001:db8:7:1::{i + 100:x} port 22 ssh2\n".encode()
        for i in range(5)
    )
    commands = core.lines("auth", lines, 1_800_000_000.0)
    assert not [c for c in commands if isinstance(c, Enforce)]
    notes = [c for c in commands if isinstance(c, Note) and c.event == "block.skipped"]
    assert notes and "this host" in notes[0].fields["reason"]
    assert ipaddress.ip_network("2001:db8:7:1::/64") not in [
        ipaddress.ip_network(t) for t in core.blocks
    ]
