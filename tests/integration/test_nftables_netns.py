"""The real nftables table in network namespaces: blocked addresses cannot connect.

Two namespaces joined by a veth pair: the member (a TCP listener and our table)
and the attacker (several addresses, IPv4 and IPv6). Every address used lives
inside these namespaces, which are removed, with the processes we started, even
when a test fails. Both runners are exercised: the CLI (libnftables in-process,
run under ``ip netns exec``) and :class:`NftCommand` with an ``ip netns exec`` prefix.
"""

from __future__ import annotations

import functools
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shieldwall.agent.config import AgentConfig
from shieldwall.agent.runtime import AgentRuntime
from shieldwall.decisions.decision import Decision
from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nftables import NftablesEnforcer, NftCommand
from shieldwall.enforcers.plan import firewall_blocks, plan_changes
from tests.conftest import require_root, shared_data

pytestmark = pytest.mark.root

PORT = 8080

SERVER = (
    f"PORT = {PORT}\n"
    """
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", PORT))
s.listen(64)
print("ready", flush=True)
while True:
    conn, _ = s.accept()
    conn.close()
"""
)

PROBE = """
import socket, sys
for line in sys.stdin:
    src, dst, port = line.split()
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.bind((src, 0))
        s.connect((dst, int(port)))
        print("open", flush=True)
    except OSError:
        print("closed", flush=True)
    finally:
        s.close()
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check)


@dataclass
class Pair:
    member: str
    attacker: str
    net: int  # third octet / fourth hextet of the test subnets
    probe: subprocess.Popen[str]

    @property
    def member_v4(self) -> str:
        return f"10.200.{self.net}.1"

    @property
    def member_v6(self) -> str:
        return f"fd00:200:{self.net:x}::1"

    def v4(self, host: int) -> str:
        return f"10.200.{self.net}.{host}"

    def v6(self, suffix: str) -> str:
        return f"fd00:200:{self.net:x}::{suffix}"

    def can_connect(self, source: str) -> bool:
        """Open a TCP connection from ``source`` (an attacker address) to the member."""
        dst = self.member_v6 if ":" in source else self.member_v4
        assert self.probe.stdin is not None and self.probe.stdout is not None
        self.probe.stdin.write(f"{source} {dst} {PORT}\n")
        self.probe.stdin.flush()
        return self.probe.stdout.readline().strip() == "open"

    def in_member(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.member, *args]

    def nft(self, *args: str) -> str:
        return sh(*self.in_member("nft", *args)).stdout

    def shieldwall(self, data_dir: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the real CLI (libnftables in-process) inside the member namespace."""
        argv = [sys.executable, "-m", "shieldwall.cli.main", *args]
        if data_dir is not None:
            argv += ["--data-dir", str(data_dir)]
        return sh(*self.in_member(*argv), check=False)

    def enforcer(self) -> NftablesEnforcer:
        return NftablesEnforcer(NftCommand(prefix=("ip", "netns", "exec", self.member)))

    def wait_until(self, source: str, reachable: bool, limit: float = 8.0) -> bool:
        """Poll (not a timing assertion): does ``source`` reach the state within ``limit``?"""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.can_connect(source) == reachable:
                return True
            time.sleep(0.2)
        return False


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    require_root("nft", "ip")
    tag = secrets.token_hex(3)
    member, attacker = f"swt-member-{tag}", f"swt-attacker-{tag}"
    veth_m, veth_a = f"swm{tag}", f"swa{tag}"
    net = 1 + secrets.randbelow(254)
    started: list[subprocess.Popen[str]] = []
    try:
        sh("ip", "netns", "add", member)
        sh("ip", "netns", "add", attacker)
        sh("ip", "link", "add", veth_m, "type", "veth", "peer", "name", veth_a)
        sh("ip", "link", "set", veth_m, "netns", member)
        sh("ip", "link", "set", veth_a, "netns", attacker)
        for ns, dev, hosts in ((member, veth_m, ["1"]), (attacker, veth_a, ["2", "3", "20"])):
            run = ["ip", "netns", "exec", ns, "ip"]
            sh(*run, "link", "set", "lo", "up")
            for host in hosts:
                sh(*run, "addr", "add", f"10.200.{net}.{host}/24", "dev", dev)
            for host in [*hosts, "1:0:0:5", "9"] if ns == attacker else hosts:
                sh(*run, "-6", "addr", "add", f"fd00:200:{net:x}::{host}/64", "dev", dev, "nodad")
            sh(*run, "link", "set", dev, "up")
        server = subprocess.Popen(
            ["ip", "netns", "exec", member, sys.executable, "-c", SERVER],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(server)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        probe = subprocess.Popen(
            ["ip", "netns", "exec", attacker, sys.executable, "-c", PROBE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(probe)
        result = Pair(member, attacker, net, probe)
        assert result.wait_until(result.v4(2), True), "the member is not reachable at all"
        assert result.wait_until(result.v6("2"), True), "the member is not reachable over IPv6"
        yield result
    finally:
        for process in started:
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
        sh("ip", "netns", "del", member, check=False)
        sh("ip", "netns", "del", attacker, check=False)


@pytest.fixture
def clean(pair: Pair) -> Iterator[Pair]:
    """The pair with no Shieldwall table before and after the test."""
    sh(*pair.in_member("nft", "delete", "table", "inet", "shieldwall"), check=False)
    yield pair
    sh(*pair.in_member("nft", "delete", "table", "inet", "shieldwall"), check=False)


def test_banned_address_cannot_connect_until_the_ban_expires(clean: Pair, tmp_path: Path) -> None:
    # 5 s: long enough to observe the block even on a loaded machine, short enough to wait out.
    done = clean.shieldwall(tmp_path, "ban", clean.v4(2), "--for", "5s", "--reason", "test")
    assert done.returncode == 0, done.stderr
    assert not clean.can_connect(clean.v4(2))
    assert clean.can_connect(clean.v4(3))  # its neighbour is not affected
    # The kernel expires the element by itself: nothing of ours runs meanwhile.
    assert clean.wait_until(clean.v4(2), True, limit=15.0)
    assert clean.shieldwall(tmp_path, "enforce", "status").returncode == 0


def test_unban_lets_the_address_back_at_once(clean: Pair, tmp_path: Path) -> None:
    assert clean.shieldwall(tmp_path, "ban", clean.v4(2), "--for", "1h").returncode == 0
    assert not clean.can_connect(clean.v4(2))
    done = clean.shieldwall(tmp_path, "unban", clean.v4(2))
    assert done.returncode == 0, done.stderr
    assert clean.can_connect(clean.v4(2))


def test_ranges_and_ipv6_are_blocked(clean: Pair) -> None:
    now = time.time()
    net6_range = f"fd00:200:{clean.net:x}:0:1::/80"  # holds ::1:0:0:5
    desired = {
        b.target: b
        for b in (
            Block(f"10.200.{clean.net}.0/28", now + 600),  # .2 and .3, not .20
            Block(clean.v6("2"), now + 600),
            Block(net6_range),
        )
    }
    plan = clean.enforcer().reconcile(desired, now)
    assert plan.rebuild
    assert not clean.can_connect(clean.v4(2))
    assert not clean.can_connect(clean.v4(3))
    assert clean.can_connect(clean.v4(20))
    assert not clean.can_connect(clean.v6("2"))
    assert not clean.can_connect(clean.v6("1:0:0:5"))
    assert clean.can_connect(clean.v6("9"))
    drops = clean.enforcer().state(time.time())
    assert drops is not None and drops.drops["range_v4"] > 0 and drops.drops["block_v6"] > 0

    # A wider range arrives: the kernel refuses overlapping intervals, so the
    # incremental plan swaps the nested one out in the same transaction.
    wider = dict(desired)
    wider[f"10.200.{clean.net}.0/24"] = Block(f"10.200.{clean.net}.0/24", now + 600)
    held = {t: b.until for t, b in firewall_blocks(desired, now).items()}
    clean.enforcer().apply(plan_changes(wider, held, time.time()), time.time())
    assert not clean.can_connect(clean.v4(20))


def test_reconcile_repairs_a_table_changed_behind_its_back(clean: Pair) -> None:
    enforcer = clean.enforcer()
    now = time.time()
    desired = {
        clean.v4(2): Block(clean.v4(2), now + 600),
        clean.v6("2"): Block(clean.v6("2"), now + 600),
        f"10.200.{clean.net}.16/28": Block(f"10.200.{clean.net}.16/28", now + 600),  # .20
    }
    enforcer.reconcile(desired, now)
    assert not clean.can_connect(clean.v4(2))

    # An element deleted, and one we never asked for added: a diff repairs it.
    clean.nft("delete", "element", "inet", "shieldwall", "block_v4", "{", clean.v4(2), "}")
    clean.nft("add", "element", "inet", "shieldwall", "block_v4", "{", clean.v4(3), "}")
    assert clean.can_connect(clean.v4(2))
    plan = enforcer.reconcile(desired, time.time())
    assert not plan.rebuild
    assert [b.target for b in plan.add] == [clean.v4(2)] and plan.remove == (clean.v4(3),)
    assert not clean.can_connect(clean.v4(2))
    assert clean.can_connect(clean.v4(3))

    # A rule and a set deleted: the table is rebuilt whole, in one transaction.
    listing = json.loads(clean.nft("-j", "-a", "list", "chain", "inet", "shieldwall", "input"))
    handles = [
        item["rule"]["handle"]
        for item in listing["nftables"]
        if "rule" in item and "@range_v4" in json.dumps(item["rule"]["expr"])
    ]
    clean.nft("delete", "rule", "inet", "shieldwall", "input", "handle", str(handles[0]))
    clean.nft("delete", "set", "inet", "shieldwall", "range_v4")
    assert clean.can_connect(clean.v4(20))
    plan = enforcer.reconcile(desired, time.time())
    assert plan.rebuild
    assert not clean.can_connect(clean.v4(20))
    assert not clean.can_connect(clean.v6("2"))
    state = enforcer.state(time.time())
    assert state is not None and state.intact and set(state.elements) == set(desired)

    # The whole table deleted: the CLI's apply (libnftables) brings it back from the store.
    clean.nft("delete", "table", "inet", "shieldwall")
    assert clean.can_connect(clean.v4(2))
    assert not enforcer.reconcile(desired, time.time()).remove
    assert not clean.can_connect(clean.v4(2))


def test_apply_from_the_store_and_uninstall_touch_only_our_table(clean: Pair, tmp_path: Path) -> None:
    clean.nft("add", "table", "inet", "neighbour")
    clean.nft("add", "set", "inet", "neighbour", "keep", "{ type ipv4_addr; }")
    try:
        assert clean.shieldwall(tmp_path, "ban", clean.v4(3), "--for", "1h").returncode == 0
        clean.nft("delete", "table", "inet", "shieldwall")
        status = clean.shieldwall(tmp_path, "enforce", "status")
        assert status.returncode == 1 and "table: missing" in status.stdout
        dry = clean.shieldwall(tmp_path, "enforce", "apply", "--dry-run")
        assert "# would rebuild table, add 1" in dry.stdout, dry.stderr
        assert clean.can_connect(clean.v4(3))  # a dry run changes nothing
        applied = clean.shieldwall(tmp_path, "enforce", "apply")
        assert applied.returncode == 0, applied.stderr
        assert not clean.can_connect(clean.v4(3))
        assert "inet neighbour" in clean.nft("list", "tables")
        assert clean.shieldwall(None, "enforce", "uninstall").returncode == 0
        tables = clean.nft("list", "tables")
        assert "shieldwall" not in tables and "inet neighbour" in tables
        assert clean.can_connect(clean.v4(3))
        # Uninstalling twice is not an error.
        assert clean.shieldwall(None, "enforce", "uninstall").returncode == 0
    finally:
        clean.nft("delete", "table", "inet", "neighbour")


def test_import_of_the_real_ipsum_feed_loads_the_table_minus_protected_entries(
    clean: Pair, tmp_path: Path
) -> None:
    feed = shared_data("ipsum", "ipsum.txt")
    args = ["import", str(feed)]
    for path in sorted(shared_data("ipranges-allowlist").glob("*.txt")):
        args += ["--never-block", str(path)]
    done = clean.shieldwall(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "accepted 120364, refused 66" in done.stdout
    state = clean.enforcer().state(time.time())
    assert state is not None and state.intact
    assert len(state.elements) == 120_364
    assert "66.249.64.85" not in state.elements  # a Googlebot address listed by ipsum


def test_without_cap_net_admin_the_error_names_the_capability(clean: Pair, tmp_path: Path) -> None:
    require_root("setpriv")
    argv = [
        "setpriv",
        "--bounding-set=-net_admin",
        "--inh-caps=-net_admin",
        sys.executable,
        "-m",
        "shieldwall.cli.main",
        "enforce",
        "apply",
        "--data-dir",
        str(tmp_path),
    ]
    done = sh(*clean.in_member(*argv), check=False)
    assert done.returncode == 3  # the README's exit code for "this host lacks something"
    assert "CAP_NET_ADMIN" in done.stderr


def test_an_operator_ban_survives_the_running_agents_repair(clean: Pair, tmp_path: Path) -> None:
    """Defect: a CLI ban made while the agent runs vanished when the agent repaired its table."""
    config = AgentConfig(data_dir=tmp_path, backend="nftables", exports_dir=str(tmp_path / "exports"))
    runtime = AgentRuntime(config, enforcer=clean.enforcer(), notes=lambda e, f: None)
    runtime.execute(runtime.core.startup(time.time()))
    done = clean.shieldwall(tmp_path, "ban", clean.v4(2), "--for", "1h")
    assert done.returncode == 0, done.stderr
    assert not clean.can_connect(clean.v4(2))
    # The table is deleted behind our back; the agent's next change fails and is repaired.
    clean.nft("delete", "table", "inet", "shieldwall")
    decision = Decision(cursor=1, action="block", target=clean.v4(3), until=time.time() + 600,
                        scenario="ssh-bruteforce", origin="m2")
    runtime.handle(functools.partial(runtime.core.decision, decision))
    assert not clean.can_connect(clean.v4(3))
    assert not clean.can_connect(clean.v4(2)), "the operator's ban is enforced after the repair"
    assert clean.can_connect(clean.v4(20))
    runtime.tick()
    exported = (tmp_path / "exports" / "blocklist.txt").read_text().split()
    assert exported == sorted([clean.v4(2), clean.v4(3)])
    # An unban while the agent runs is followed too, and a later export does not bring it back.
    assert clean.shieldwall(tmp_path, "unban", clean.v4(2)).returncode == 0
    runtime.tick()
    assert clean.can_connect(clean.v4(2))
    assert (tmp_path / "exports" / "blocklist.txt").read_text().split() == [clean.v4(3)]
    runtime.store.close()
    runtime.state.close()
