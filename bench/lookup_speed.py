"""How fast the application middleware answers "is this client blocked?" at 1M entries.

Run: ``python3 bench/lookup_speed.py [--count 1000000] [--ranges 10000]``.
Compares :class:`BlockLookup` (set of packed addresses + bisect over merged
ranges) with the obvious approach (``ipaddress`` objects in a set, and
``addr in network`` over the ranges). Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import socket
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shieldwall.enforcers.lookup import BlockLookup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--ranges", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(7)

    def ip(value: int) -> str:
        return socket.inet_ntoa(value.to_bytes(4, "big"))

    singles = [ip(v) for v in rng.sample(range(0x01000000, 0xDF000000), args.count)]
    ranges = [f"{ip(rng.randrange(0x01000000, 0xDF000000) & 0xFFFFFF00)}/24" for _ in range(args.ranges)]
    v6 = [f"2a00:{i:x}::/48" for i in range(1000)]
    # Half the queries hit a blocked single address, half are random (mostly misses).
    queries = [
        rng.choice(singles) if i % 2 else ip(rng.randrange(0x01000000, 0xDF000000))
        for i in range(args.queries)
    ]

    tracemalloc.start()
    t0 = time.perf_counter()
    lookup = BlockLookup.from_targets([*singles, *ranges, *v6])
    t_build = time.perf_counter() - t0
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    is_blocked = lookup.is_blocked
    t0 = time.perf_counter()
    hits = sum(1 for q in queries if is_blocked(q))
    t_lookup = time.perf_counter() - t0
    rate = len(queries) / t_lookup
    print(f"BlockLookup: {args.count:,} addresses + {args.ranges:,} IPv4 /24 + 1,000 IPv6 /48")
    print(f"  build {t_build:.2f} s, ~{memory / 2**20:.0f} MiB traced")
    print(f"  {rate:,.0f} lookups/s ({1e6 / rate:.2f} us each), {hits:,} of {len(queries):,} blocked")

    # The obvious approach, on a sample (a scan over 10k networks is slow).
    naive_set = {ipaddress.ip_address(s) for s in singles}
    naive_nets = [ipaddress.ip_network(r) for r in ranges]
    sample = queries[:2000]
    t0 = time.perf_counter()
    for q in sample:
        addr = ipaddress.ip_address(q)
        _ = addr in naive_set or any(addr in n for n in naive_nets)
    naive_rate = len(sample) / (time.perf_counter() - t0)
    print(
        f"ipaddress set + scan over networks: {naive_rate:,.0f} lookups/s "
        f"(on {len(sample):,} queries) -> BlockLookup is {rate / naive_rate:,.0f}x faster"
    )


if __name__ == "__main__":
    main()
