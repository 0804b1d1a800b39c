"""What verifying the council's work costs a member: charter chains and governed acts, per core.

Run: ``python3 bench/charter_verify.py [--versions 50] [--council 7] [--acts 2000]``.
The process is pinned to one CPU, so every figure is per core. Measures:

- raw Ed25519 verifications per second (PyNaCl), the floor everything else sits on;
- walking a charter chain from version 1 (:func:`follow_chain`), one key rotated per
  version, each version signed by the grave threshold of the old and the new council;
- replaying an act log (:func:`state.replay`): ordinary acts, each signed by k councillors.

Verification counts come from a separate, untimed pass that counts calls. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import nacl.signing

from shieldwall.governance import continuity, signatures
from shieldwall.governance.acts import CharterChange, PolicyChange
from shieldwall.governance.amend import amend, councillor_card, found, parse_card
from shieldwall.governance.charter import HubKey, Rotation, SignedCharter, Thresholds, charter_digest
from shieldwall.governance.continuity import follow_chain, verify_founding
from shieldwall.governance.proposals import open_proposal, publish, sign, with_signatures
from shieldwall.governance.record import ActRecord
from shieldwall.governance.state import CouncilState, replay
from shieldwall.signals.keys import new_seed

START = 1_767_225_600


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def counted_verifications(run: object) -> int:
    """How many Ed25519 verifications ``run()`` makes (untimed: the counter costs time)."""
    calls = 0
    real = signatures.verifies

    def counting(*args: object) -> bool:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    signatures.verifies = counting  # type: ignore[assignment]
    continuity.verifies = counting  # type: ignore[assignment]
    try:
        run()  # type: ignore[operator]
    finally:
        signatures.verifies = real
        continuity.verifies = real
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--council", type=int, default=7)
    parser.add_argument("--acts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    print(f"raw Ed25519 verify (PyNaCl): {_raw_rate():,.0f}/s per core")

    size = args.council
    ordinary, grave = size // 2 + 1, (2 * size + 2) // 3
    seeds = {f"c{i}": new_seed() for i in range(size)}
    cards = [parse_card(councillor_card(seeds[name], "bench", name)) for name in seeds]
    rotation = Rotation(order=tuple(seeds), start=START, term="days", days=30)
    hub = HubKey(name="hub", public_key=bytes(nacl.signing.SigningKey(new_seed()).verify_key).hex())
    v1 = found("bench", cards, Thresholds(ordinary, grave), rotation, [hub], "a" * 64, "b" * 64, START)

    def signed_by(charter: object, names: list[str]) -> SignedCharter:
        d = charter_digest(charter)  # type: ignore[arg-type]
        return SignedCharter(charter, tuple(signatures.sign_digest(seeds[x], d) for x in names))  # type: ignore[arg-type]

    chain = [signed_by(v1, list(seeds)[:grave])]
    current = v1
    for version in range(2, args.versions + 1):
        old_name = current.council[0].name
        new_name = f"n{version}"
        seeds[new_name] = new_seed()
        current = amend(current, START + version, remove=[old_name],
                        add=[parse_card(councillor_card(seeds[new_name], "bench", new_name))])
        # Every old councillor signs (the leaving one too), so grave of both councils is met.
        chain.append(signed_by(current, [old_name, *[c.name for c in current.council]]))
    anchor = verify_founding(chain[0])
    walk = lambda: follow_chain(anchor, chain, START + 100)  # noqa: E731
    assert walk().charter.version == args.versions
    checks = counted_verifications(walk)
    best = min(_timed(walk) for _ in range(args.repeat))
    print(f"charter chain: {args.versions} versions, council {size}, grave {grave}: "
          f"{best * 1000:.1f} ms, {rate(args.versions - 1, best)} versions, "
          f"{rate(checks, best)} signature verifications ({checks} in the walk)")

    records = _act_log(seeds, chain[0], ordinary, args.acts)
    log_replay = lambda: replay(records)  # noqa: E731
    checks = counted_verifications(log_replay)
    best = min(_timed(log_replay) for _ in range(args.repeat))
    print(f"act log replay: {len(records) - 1} acts, each k={ordinary} of {size}: {best * 1000:.1f} ms, "
          f"{rate(len(records) - 1, best)} acts, {rate(checks, best)} signature verifications")
    # The machine is shared: the floor measured again tells how much of a gap is noise.
    print(f"raw Ed25519 verify again (PyNaCl): {_raw_rate():,.0f}/s per core")


def _raw_rate(n: int = 4000, rounds: int = 5) -> float:
    key, message = nacl.signing.SigningKey(new_seed()), hashlib.sha256(b"x").digest()
    signed, verify = key.sign(message).signature, key.verify_key
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            verify.verify(message, signed)
        best = min(best, time.perf_counter() - t0)
    return n / best


def _timed(run: object) -> float:
    t0 = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - t0


def _act_log(seeds: dict[str, bytes], founding: SignedCharter, k: int, count: int) -> list[ActRecord]:
    names = [c.name for c in founding.charter.council]
    state = CouncilState()
    proposal = with_signatures(open_proposal(state, CharterChange(founding.charter), seeds[names[0]], START),
                               founding.signatures)
    record, state = publish(state, proposal, START)
    records = [record]
    for i in range(count):
        now = START + 1 + i
        chair = names[0]  # the first term: c0 chairs
        proposal = open_proposal(state, PolicyChange(hashlib.sha256(str(i).encode()).hexdigest()),
                                 seeds[chair], now)
        proposal = with_signatures(proposal, [sign(state, proposal, seeds[x]) for x in names[1:k]])
        record, state = publish(state, proposal, now)
        records.append(record)
    return records


if __name__ == "__main__":
    main()
