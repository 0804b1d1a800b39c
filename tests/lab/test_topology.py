"""The lab's network plan: names, addresses and the ip commands, as data."""

from __future__ import annotations

import pytest

from shieldwall.errors import ConfigError
from shieldwall.lab.topology import (
    link_command,
    netns_exec,
    plan_lab,
    setup_commands,
    teardown_commands,
)


def test_every_namespace_carries_the_runs_suffix_so_parallel_labs_never_collide() -> None:
    one = plan_lab(["hub", "a"], "abc123")
    two = plan_lab(["hub", "a"], "def456")
    assert set(one.namespaces).isdisjoint(two.namespaces)
    assert all("-abc123-" in ns for ns in one.namespaces)


def test_addresses_are_numbered_from_the_lab_range_in_name_order() -> None:
    topo = plan_lab(["hub", "a", "attacker"], "abcd", extra_v4={"attacker": 2})
    assert [n.v4 for n in topo.nodes] == ["10.77.0.1", "10.77.0.2", "10.77.0.3"]
    assert topo.node("a").v6 == "fd77::2"
    assert topo.node("attacker").extra_v4 == ("10.77.0.100", "10.77.0.101")
    assert topo.node("attacker").addresses == ("10.77.0.3", "10.77.0.100", "10.77.0.101",
                                               "fd77::3")


def test_links_are_created_inside_namespaces_never_in_the_hosts_own() -> None:
    topo = plan_lab(["hub", "a"], "abcd")
    for argv in setup_commands(topo):
        assert argv[0] == "ip"
        # Either a namespace is created, or the command names one with -n.
        assert argv[1:3] == ["netns", "add"] or argv[1] == "-n", argv
    veth = [a for a in setup_commands(topo) if "veth" in a]
    assert veth[0][-4:] == ["name", "eth0", "netns", topo.node("hub").netns]


def test_extra_addresses_never_collide_with_node_addresses_in_a_large_lab() -> None:
    topo = plan_lab([f"m{i}" for i in range(120)], "abcd", extra_v4={"m0": 3})
    addresses = [a for n in topo.nodes for a in n.addresses]
    assert len(addresses) == len(set(addresses))


def test_a_range_too_small_for_the_lab_is_refused() -> None:
    with pytest.raises(ConfigError, match="too small"):
        plan_lab([f"m{i}" for i in range(300)], "abcd")


def test_switch_ports_fit_the_kernels_fifteen_character_limit() -> None:
    topo = plan_lab(["attacker10"], "abcdef123456")
    assert all(len(n.switch_port) <= 15 for n in topo.nodes)


def test_teardown_deletes_every_namespace_switch_last() -> None:
    topo = plan_lab(["hub", "a"], "abcd")
    deleted = [argv[3] for argv in teardown_commands(topo)]
    assert deleted == [topo.node("hub").netns, topo.node("a").netns, topo.switch]


def test_link_down_is_taken_at_the_switch_port() -> None:
    topo = plan_lab(["hub", "c"], "abcd")
    assert link_command(topo, "c", False) == ["ip", "-n", topo.switch, "link", "set", "p-c",
                                              "down"]
    assert netns_exec("ns1", ["true"]) == ["ip", "netns", "exec", "ns1", "true"]


@pytest.mark.parametrize(("names", "suffix"), [
    (["Hub"], "abcd"), (["a", "a"], "abcd"), (["a"], "ab"), (["a"], "AB12"), ([], "abcd"),
    (["averyverylongname"], "abcd"),
])
def test_bad_names_and_suffixes_are_refused(names: list[str], suffix: str) -> None:
    with pytest.raises(ConfigError):
        plan_lab(names, suffix)


def test_unknown_node_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no node 'z'"):
        plan_lab(["a"], "abcd").node("z")
