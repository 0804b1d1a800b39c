"""What verifying the hub's decision stream costs a member, per core, beside the peer.

Run: ``python3 bench/decision_verify.py [--decisions 200000] [--group 512]``.
The process is pinned to one CPU, so every figure is per core. The member's check
(:class:`shieldwall.governance.verify.DecisionVerifier`) hashes each decision into the
chain and verifies one hub signature per checkpoint (one per group the hub writes).
The hub's cost (hashing each decision, one signature per group) is printed too.
Side by side: the peer design, one Ed25519 signature verified per decision, and the
floor, decoding the decision off the wire (which the member pays anyway).
Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import msgspec
import nacl.signing

from shieldwall.decisions.decision import Decision, decode_decision, encode_decision
from shieldwall.governance.acts import Act, CharterChange
from shieldwall.governance.amend import councillor_card, found, parse_card
from shieldwall.governance.charter import HubKey, Rotation, Thresholds, charter_digest
from shieldwall.governance.checkpoint import GENESIS, Checkpoint, chain_over, sign_checkpoint
from shieldwall.governance.record import ActRecord
from shieldwall.governance.signatures import sign_digest
from shieldwall.governance.standing import Standing, standing
from shieldwall.governance.verify import DecisionVerifier
from shieldwall.signals.keys import new_seed, public_key_of

START = 1_767_225_600
HUB_SEED = b"\x07" * 32


def council_standing() -> Standing:
    seeds = [new_seed() for _ in range(3)]
    cards = [parse_card(councillor_card(s, "bench", f"c{i}")) for i, s in enumerate(seeds)]
    charter = found("bench", cards, Thresholds(2, 2), Rotation(("c0", "c1", "c2"), START, "days", 30),
                    [HubKey("hub", public_key_of(HUB_SEED).hex())], "0" * 64, "1" * 64, START)
    act = Act("bench", "", CharterChange(charter), "c0", START)
    sigs = tuple(sign_digest(s, charter_digest(charter)) for s in seeds[:2])
    record = ActRecord(1, "", START, act, sigs)
    return standing([record], charter_digest(charter), START + 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--group", type=int, default=512, help="decisions per hub checkpoint")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    state = council_standing()
    decisions = [Decision(cursor=c, action="block", target=f"203.0.{c // 250 % 250}.{c % 250}",
                          until=START + 3600.0, scenario="ssh-bruteforce", origin="acme",
                          created=START + c / 1000, policy=state.version, rule="sshd@3/ssh-bruteforce@2")
                 for c in range(1, args.decisions + 1)]
    wire = [encode_decision(d) for d in decisions]
    checkpoints = []
    chain = GENESIS
    for start in range(0, len(decisions), args.group):
        group = decisions[start:start + args.group]
        chain = chain_over(chain, group)
        checkpoints.append((start + len(group), sign_checkpoint(HUB_SEED, Checkpoint(
            "bench", group[-1].cursor, chain.hex(), state.state.seq, state.state.head.hex(), START))))

    began = time.perf_counter()
    for raw in wire:
        decode_decision(raw)
    decode = len(wire) / (time.perf_counter() - began)

    verifier = DecisionVerifier(state)
    accepted = 0
    began = time.perf_counter()
    index = 0
    for end, signed in checkpoints:
        for raw in wire[index:end]:
            verifier.decision(decode_decision(raw))
        index = end
        accepted += len(verifier.checkpoint(signed, START + 1).accepted)
    ours = len(wire) / (time.perf_counter() - began)
    assert accepted == len(wire) and verifier.incident is None

    sample = wire[:20_000]
    key = nacl.signing.SigningKey(HUB_SEED)
    signed_each = [key.sign(hashlib.sha256(raw).digest()).signature for raw in sample]
    verify_key = key.verify_key
    began = time.perf_counter()
    for raw, sig in zip(sample, signed_each, strict=True):
        decode_decision(raw)
        verify_key.verify(hashlib.sha256(raw).digest(), sig)
    peer = len(sample) / (time.perf_counter() - began)

    # The hub's side: hash each decision into the chain, sign one checkpoint per group.
    began = time.perf_counter()
    chain = GENESIS
    for start in range(0, len(decisions), args.group):
        group = decisions[start:start + args.group]
        chain = chain_over(chain, group)
        sign_checkpoint(HUB_SEED, Checkpoint("bench", group[-1].cursor, chain.hex(), 1, "", START))
    hub = len(decisions) / (time.perf_counter() - began)

    print(f"decisions: {len(wire)}, checkpoint every {args.group} (one Ed25519 verify each)")
    print(f"hub: chain + one signature per group {hub:>9,.0f} decisions/s/core")
    print(f"decode only (floor)              {decode:>12,.0f} decisions/s/core")
    print(f"chain + checkpoints (shieldwall) {ours:>12,.0f} decisions/s/core"
          f"  ({ours / decode:.2f}x the floor)")
    print(f"one signature per decision (peer) {peer:>11,.0f} decisions/s/core"
          f"  (shieldwall is {ours / peer:.1f}x faster)")
    print(f"wire bytes per decision: {sum(map(len, wire)) / len(wire):.0f};"
          f" checkpoint bytes: {len(msgspec.json.encode(checkpoints[0][1]))}")


if __name__ == "__main__":
    main()
