"""What an alliance rule costs a member, beside the member's own detection of the same lines.

Run: ``python3 bench/arsenal_engine.py [LOG] [--repeat 20] [--chunk 64]``, default log
``../shared/data/loghub/OpenSSH_2k.log``.

Side by side over the same lines, fed in chunks of ``--chunk`` lines as the agent's
source task does: (1) the member's shipped sshd pack and scenarios (what
``AgentCore.lines`` runs), (2) the shipped alliance rule ``ssh-quick-guess`` in the
arsenal's engine (its own event stream and detector, the CPU time the agent reports
as ``cpu_per_million``). Prints CPU seconds per million lines for each and the ratio,
and the figure as the agent measures it (``time.thread_time`` around each chunk).
Best of three runs; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from shieldwall.arsenal.active import ActiveRule, ActiveSet
from shieldwall.arsenal.engine import Engine
from shieldwall.arsenal.rule import parse_rule
from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import default_scenarios
from shieldwall.events.packs import load_pack
from shieldwall.events.stream import EventStream

DEFAULT_LOG = Path(__file__).resolve().parents[2] / "shared/data/loghub/OpenSSH_2k.log"


def chunks(data: bytes, size: int) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    return [b"".join(lines[i:i + size]) for i in range(0, len(lines), size)]


def shipped(parts: list[bytes]) -> float:
    stream = EventStream(load_pack("sshd"), year=2026)
    detector = Detector([s for s in default_scenarios() if "sshd" in s.packs], keep_evidence=True)
    started = time.process_time()
    for part in parts:
        events = stream.feed(part)
        if events:
            detector.feed(events)
    return time.process_time() - started


def arsenal(parts: list[bytes]) -> tuple[float, float]:
    data = (resources.files("shieldwall.arsenal") / "rules" / "ssh-quick-guess.toml").read_bytes()
    engine = Engine(year=2026)
    engine.load(ActiveSet(1, (ActiveRule(parse_rule(data), "experimental"),)))
    measured = 0.0
    started = time.process_time()
    for part in parts:
        began = time.thread_time()
        engine.feed("ssh-quick-guess@1", part)
        measured += time.thread_time() - began
    return time.process_time() - started, measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path, nargs="?", default=DEFAULT_LOG)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=64, help="lines per chunk")
    args = parser.parse_args()
    data = args.log.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    data *= args.repeat
    lines = data.count(b"\n")
    parts = chunks(data, args.chunk)
    base = min(shipped(parts) for _ in range(3))
    runs = [arsenal(parts) for _ in range(3)]
    rule, agent_view = min(r[0] for r in runs), min(r[1] for r in runs)
    million = 1e6 / lines
    print(f"{lines:,} lines in chunks of {args.chunk}")
    print(f"  member's own sshd pack + scenarios  {base * million:8.3f} CPU s per million lines")
    print(f"  alliance rule ssh-quick-guess@1     {rule * million:8.3f} CPU s per million lines"
          f"  (ratio {rule / base:.2f}x the member's own detection)")
    print(f"  as the agent reports it             {agent_view * million:8.3f} cpu_per_million")


if __name__ == "__main__":
    main()
