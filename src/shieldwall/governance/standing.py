"""What the hub and every member derive from the act log: policy versions, hub keys, the gate.

Pure. :func:`standing` verifies the act log from the pinned founding charter (through
:func:`.state.in_force`) and adds what decisions are checked against:

- the **policy version** a decision names, ``v<charter version>:<policy sha256>``, so
  that a member's ``shieldwall blocks`` and the hub's ``explain`` can cite the charter
  version without another look-up;
- the versions the council ever put in force (a decision made under last month's
  signed policy is still the council's), and only those;
- the hub keys of the charter in force.

:func:`hub_problem` is the hub's own gate: a hub whose policy file, never-block list or
identity is not the one the charter names refuses to decide, and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shieldwall.decisions.decision import Decision
from shieldwall.errors import GovernanceError
from shieldwall.governance.checkpoint import hub_key_ids
from shieldwall.governance.record import ActRecord
from shieldwall.governance.state import CouncilState, apply, in_force


def policy_version(charter_version: int, policy_sha256: str) -> str:
    """The policy version a decision names: charter version and policy digest."""
    return f"v{charter_version}:{policy_sha256}"


def charter_of(version: str) -> str:
    """``charter vN`` from a policy version (what people read), or ``no charter``."""
    head, sep, _ = version.partition(":")
    return f"charter {head}" if sep and head.startswith("v") else "no charter"


def decided_under(decision: Decision) -> str:
    """Which charter version and rule decided: ``charter v2, rule sshd@3/ssh-bruteforce@2``."""
    return f"{charter_of(decision.policy)}, rule {decision.rule or decision.scenario or '-'}"


@dataclass(frozen=True, slots=True)
class Standing:
    """The council's verified state and what decisions are checked against."""

    state: CouncilState
    #: Every policy version the council put in force, the current one included.
    approved: frozenset[str]
    #: Key id -> public key hex of the hub keys of the charter in force.
    hub_keys: dict[str, str]

    @property
    def alliance(self) -> str:
        assert self.state.trusted is not None  # standing() refuses an unfounded log
        return self.state.trusted.charter.alliance

    @property
    def charter_version(self) -> int:
        assert self.state.trusted is not None
        return self.state.trusted.charter.version

    @property
    def version(self) -> str:
        """The policy version in force: what the hub stamps on new decisions."""
        return policy_version(self.charter_version, self.state.policy_sha256)


def standing(records: Sequence[ActRecord], pinned: bytes, now: int,
             known: tuple[int, bytes] | None = None) -> Standing:
    """Verify the act log (see :func:`.state.in_force`) and derive the standing.

    Raises :class:`GovernanceError` as ``in_force`` does (``rolled-back``, ``expired``,
    ``forked``, ``forged``...).
    """
    state = in_force(records, pinned, now, known)
    approved: set[str] = set()
    walk = CouncilState()
    for record in records:
        walk = apply(walk, record, pinned)
        if walk.trusted is not None:
            approved.add(policy_version(walk.trusted.charter.version, walk.policy_sha256))
    assert state.trusted is not None  # in_force refuses an unfounded log
    keys = hub_key_ids([k.public_key for k in state.trusted.charter.hub_keys])
    return Standing(state, frozenset(approved), keys)


def hub_problem(standing: Standing, policy_sha256: str, never_block_sha256: str,
                hub_public_hex: str) -> str | None:
    """Why this hub may not decide under ``standing``, or ``None`` when it may.

    ``policy_sha256`` and ``never_block_sha256`` are the digests of the files the hub
    would run; ``hub_public_hex`` its identity's public key.
    """
    state = standing.state
    if policy_sha256 != state.policy_sha256:
        return (f"the hub's policy file has SHA-256 {policy_sha256[:16]}..., but the council's"
                f" policy (charter v{standing.charter_version}, act {state.seq}) is"
                f" {state.policy_sha256[:16]}...: install the file the council voted for, or"
                " have the council vote for this one (`shieldwall council propose policy`)")
    if never_block_sha256 != state.never_block_sha256:
        return (f"the hub's never-block list has SHA-256 {never_block_sha256[:16]}..., but the"
                f" council's is {state.never_block_sha256[:16]}...: install the list the council"
                " voted for (`shieldwall council propose never-block`)")
    if hub_public_hex not in standing.hub_keys.values():
        return (f"this hub's identity key {hub_public_hex[:16]}... is not a hub key of charter"
                f" v{standing.charter_version}: members would refuse everything it signs")
    return None


def check_known(standing: Standing, seq: int, head: str) -> None:
    """Refuse a checkpoint naming an act log position other than the one verified."""
    state = standing.state
    if seq < state.seq:
        raise GovernanceError(
            "rolled-back", f"the hub signed under act {seq}, but this member verified act {state.seq}:"
            " the hub went back to an older council record")
    if seq == state.seq and head != state.head.hex():
        raise GovernanceError(
            "forked", f"the hub's act log differs from the verified one at act {seq}")
