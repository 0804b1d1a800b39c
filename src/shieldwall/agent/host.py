"""This host's own addresses: never blocked here, whatever the detection says.

A local-first block of an IPv6 /64 (or any range) that holds this host's own
address would cut the host off from its neighbours; the hub refuses such a
decision for the alliance, and this keeps the member's local blocks to the same
rule. :func:`parse_ip_addr` is the pure half, tested on recorded ``ip -j addr``.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from typing import Any

import msgspec

from shieldwall.addresses import IPNetwork


def parse_ip_addr(output: str | bytes) -> list[IPNetwork]:
    """Host networks (/32, /128) of every address in ``ip -j addr`` output."""
    try:
        interfaces = msgspec.json.decode(output, type=list[dict[str, Any]])
    except msgspec.DecodeError:
        return []
    found: list[IPNetwork] = []
    for interface in interfaces:
        for info in interface.get("addr_info", []) or []:
            local = info.get("local") if isinstance(info, dict) else None
            if not isinstance(local, str):
                continue
            try:
                found.append(ipaddress.ip_network(local.split("%", 1)[0]))
            except ValueError:
                continue
    return found


def host_addresses() -> list[IPNetwork]:
    """This host's addresses, as ``ip`` reports them (empty when ``ip`` is missing)."""
    ip = shutil.which("ip")
    if ip is None:
        return []
    try:
        done = subprocess.run([ip, "-j", "addr"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_ip_addr(done.stdout) if done.returncode == 0 else []
