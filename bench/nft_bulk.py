"""Bulk and single updates of the real nftables table, side by side with one command per address.

Run as root: ``python3 bench/nft_bulk.py [--count 1000000] [--per-command 2000]``.
It creates a network namespace, re-runs itself inside it, and removes it after.
Prints figures and ratios; asserts nothing (speed is not a test).

Measured:
  1. N IPv4 addresses applied in one transaction (render + libnftables), and the
     same batch through ``nft -f -``;
  2. one new decision applied to the table already holding N (libnftables, and
     ``nft -f -`` for comparison), median and p99 over repeats;
  3. the one-command-per-address approach that fail2ban and CrowdSec's firewall
     bouncer take (``nft add element ...`` per address, a process each): a
     sample of --per-command addresses, extrapolated to N;
  4. the start-up reconcile at that size (a rebuild in one transaction), and
     for reference what reading the table back through nft costs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shieldwall.enforcers.block import Block
from shieldwall.enforcers.nft_ruleset import parse_table, render_plan, render_table
from shieldwall.enforcers.nftables import (
    READ_LIMIT,
    LibNftables,
    NftablesEnforcer,
    NftCommand,
)
from shieldwall.enforcers.plan import Plan


def addresses(count: int, start: int = 0x2D000000) -> list[str]:
    """``count`` distinct IPv4 addresses from 45.0.0.0 upwards."""
    return [socket.inet_ntoa((start + i).to_bytes(4, "big")) for i in range(count)]


def inside(count: int, per_command: int, repeats: int, readback: bool) -> None:
    lib = LibNftables()
    cmd = NftCommand()
    now = time.time()
    t0 = time.perf_counter()
    targets = addresses(count)
    blocks = [Block(t, now + 3600) for t in targets]
    t_make = time.perf_counter() - t0
    print(f"prepared {count:,} blocks in {t_make:.2f} s (not counted below)")

    # 1. Bulk, one transaction.
    t0, c0 = time.perf_counter(), time.process_time()
    batch = render_table(blocks, now)
    t_render, c_render = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    lib.run(batch)
    t_lib, c_lib = time.perf_counter() - t0, time.process_time() - c0
    print(f"\n[1] {count:,} IPv4 addresses, one transaction (libnftables, hash set with timeouts)")
    print(
        f"    render {t_render:.2f} s + apply {t_lib:.2f} s = {t_render + t_lib:.2f} s wall "
        f"(target <= 5 s); CPU (user+sys) render {c_render:.2f} s + apply {c_lib:.2f} s "
        f"= {c_render + c_lib:.2f} s; batch {len(batch) / 1e6:.1f} MB"
    )
    print(f"    load average now: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    cmd.run(batch)
    t_cmd = time.perf_counter() - t0
    print(f"    same batch through `nft -f -`: {t_cmd:.2f} s (rebuild of the full table)")

    # 2. One new decision on the full table.
    extra = addresses(repeats, start=0x5B000000)
    lib_times = []
    for target in extra:
        t0 = time.perf_counter()
        lib.run(render_plan(Plan(add=(Block(target, time.time() + 3600),)), time.time()))
        lib_times.append(time.perf_counter() - t0)
    cmd_times = []
    for target in addresses(min(repeats, 50), start=0x5C000000):
        t0 = time.perf_counter()
        cmd.run(render_plan(Plan(add=(Block(target, time.time() + 3600),)), time.time()))
        cmd_times.append(time.perf_counter() - t0)
    med = statistics.median(lib_times) * 1000
    p99 = sorted(lib_times)[int(len(lib_times) * 0.99) - 1] * 1000
    cmd_med = statistics.median(cmd_times) * 1000
    print(f"\n[2] one new decision applied to a table holding {count:,} ({len(lib_times)} repeats)")
    print(f"    libnftables: median {med:.3f} ms, p99 {p99:.3f} ms (target <= 2 ms)")
    print(f"    `nft -f -` process: median {cmd_med:.2f} ms ({cmd_med / med:.0f}x slower)")

    # 3. One `nft add element` command per address.
    sample = addresses(per_command, start=0x5D000000)
    t0 = time.perf_counter()
    for target in sample:
        subprocess.run(
            ["nft", "add", "element", "inet", "shieldwall", "block_v4", "{", f"{target} timeout 3600s", "}"],
            check=True,
            capture_output=True,
        )
    t_each = (time.perf_counter() - t0) / per_command
    projected = t_each * count
    bulk = t_render + t_lib
    print("\n[3] one `nft add element` process per address (fail2ban / CrowdSec bouncer style)")
    print(f"    measured {per_command:,} commands on the {count:,} table: {t_each * 1000:.2f} ms each")
    print(
        f"    extrapolated to {count:,}: {projected:,.0f} s ({projected / 60:.0f} min) "
        f"vs {bulk:.2f} s in one transaction: {projected / bulk:,.0f}x"
    )

    # 4. Reconcile at this size: a blind rebuild (what NftablesEnforcer.reconcile
    # does above READ_LIMIT), and, for reference, what reading the table costs.
    enforcer = NftablesEnforcer(lib)
    desired = {b.target: b for b in blocks}
    t0 = time.perf_counter()
    plan = enforcer.reconcile(desired, time.time())
    t_rec = time.perf_counter() - t0
    print(
        f"\n[4] reconcile of {count:,} on start: {plan.summary()} in {t_rec:.2f} s "
        f"(one transaction, rebuilt unread above {READ_LIMIT:,} blocks)"
    )
    if not readback:
        lib.run("delete table inet shieldwall")
        return
    read_at = time.time()
    t0 = time.perf_counter()
    listing = lib.list_table()
    t_list = time.perf_counter() - t0
    assert listing is not None
    t0 = time.perf_counter()
    state = parse_table(listing, read_at)
    t_parse = time.perf_counter() - t0
    print(
        f"    for reference, reading it back: nft list {t_list:.2f} s + parse {t_parse:.2f} s "
        f"for {len(state.elements):,} elements"
    )
    lib.run("delete table inet shieldwall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--per-command", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--no-readback", action="store_true", help="skip reading the table back (~40 s)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.count, args.per_command, args.repeats, not args.no_readback)
        return
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark creates a network namespace")
    ns = f"swt-bench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        print(
            f"# {time.strftime('%Y-%m-%d %H:%M:%S')} in netns {ns}, {os.cpu_count()} CPUs, "
            f"{subprocess.run(['nft', '--version'], capture_output=True, text=True).stdout.strip()}"
        )
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                __file__,
                "--inside",
                "--count",
                str(args.count),
                "--per-command",
                str(args.per_command),
                "--repeats",
                str(args.repeats),
                *(["--no-readback"] if args.no_readback else []),
            ],
            check=True,
        )
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
