"""The trust simulation's full table (issue 16): N = 20, 50, 200; colluders 0-50 %; 10 seeds.

Runs the real hub Policy over simulated alliances (attackers drawn from the IPsum
feed, see shieldwall.lab.trust_model) and prints the table the README's "Trust"
section quotes, the limits (trust off; turncoat colluders at 10/30/50 %), the
trade-off curves and the sweep of the [trust] settings the defaults were chosen
from. About 10 minutes on 2 loaded cores.

    python3 bench/trust_sim.py [--seeds 10] [--workers 2] [--plot docs/trust-curves.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from shieldwall.lab.trust_report import report, trade_offs

IPSUM = Path(__file__).resolve().parents[2] / "shared" / "data" / "ipsum" / "ipsum.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizes", default="20,50,200")
    parser.add_argument("--no-curves", action="store_true")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--curves-only", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.curves_only:
        trade_offs(print, ipsum=str(IPSUM) if IPSUM.exists() else "", workers=args.workers,
                   plot=args.plot)
    else:
        report(print, sizes=[int(n) for n in args.sizes.split(",")], seeds=args.seeds,
               ipsum=str(IPSUM) if IPSUM.exists() else "", workers=args.workers,
               curves=not args.no_curves, plot=args.plot)
    print(f"\n{time.perf_counter() - started:.0f}s; ipsum: "
          f"{IPSUM if IPSUM.exists() else 'built-in count histogram'}")


if __name__ == "__main__":
    main()
