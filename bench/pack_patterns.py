"""What each pattern of a pack costs: the scanner alone, and each pattern's share.

Run: ``python3 bench/pack_patterns.py PACK LOG [--repeat 20]``, e.g.
``python3 bench/pack_patterns.py sshd ../shared/data/loghub/OpenSSH_2k.log`` or
``python3 bench/pack_patterns.py http ../shared/data/honeynet-chuvakin-httpd/httpd/access_log``.

Prints the scanner's nanoseconds per line over the log (regex and match tuples: no blame,
accounting or detection), then for each pattern how much faster the scanner
gets without it - the pattern's marginal cost, which is what a pack author
trades against what the pattern catches. Best of three runs; asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shieldwall.events.packs import PackSpec, load_pack
from shieldwall.events.patterns import Scanner


def ns_per_line(pack: PackSpec, data: bytes, lines: int) -> tuple[float, int]:
    scanner = Scanner(pack)
    best, matches = float("inf"), 0
    for _ in range(3):
        started = time.process_time()
        matches = sum(1 for _ in scanner.scan(data))
        best = min(best, time.process_time() - started)
    return best / lines * 1e9, matches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pack", help="pack name or .toml path")
    parser.add_argument("log", type=Path)
    parser.add_argument("--repeat", type=int, default=20, help="repeat the log this many times")
    args = parser.parse_args()
    pack = load_pack(args.pack)
    data = args.log.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    data *= args.repeat
    lines = data.count(b"\n")
    full, matches = ns_per_line(pack, data, lines)
    print(f"{pack.name}: {lines:,} lines, {matches:,} matched; scanner {full:,.0f} ns/line "
          f"({1e9 / full:,.0f} lines per CPU-second, scanner only)")
    print(f"  {'pattern':<28} {'marginal ns/line':>16}")
    for index, pattern in enumerate(pack.patterns):
        if len(pack.patterns) == 1:
            break
        without = dataclasses.replace(pack, patterns=pack.patterns[:index] + pack.patterns[index + 1:])
        cost = full - ns_per_line(without, data, lines)[0]
        print(f"  {pattern.name:<28} {cost:>16,.0f}")


if __name__ == "__main__":
    main()
