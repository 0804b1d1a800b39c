"""Where a proposal stands: who signed, who is still needed, and whether it can be published.

Pure and read-only. "Publishable" is decided by trying :func:`proposals.publish` on
the state, so the status can never disagree with what publishing would do.
"""

from __future__ import annotations

from dataclasses import dataclass

from shieldwall.errors import GovernanceError
from shieldwall.governance.acts import kind_of, signed_digest
from shieldwall.governance.chair import chair_at
from shieldwall.governance.charter import council_keys, threshold_for
from shieldwall.governance.proposals import Proposal, councils_for, publish
from shieldwall.governance.signatures import tally
from shieldwall.governance.state import CouncilState


@dataclass(frozen=True, slots=True)
class Count:
    """One council's signatures on a proposal."""

    council: str
    needed: int
    signers: tuple[str, ...]
    missing: tuple[str, ...]
    forged: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProposalStatus:
    """A proposal's standing at one moment."""

    id: str
    kind: str
    opened_by: str
    opened_at: int
    counts: tuple[Count, ...]
    #: The chair now, and whether its signature alone publishes this kind of act.
    chair: str | None
    chair_may_publish: bool
    publishable: bool
    #: Why it cannot be published yet ("" when it can).
    problem: str


def proposal_status(state: CouncilState, proposal: Proposal, now: int) -> ProposalStatus:
    """Signatures per council, the chair's power over it, and whether publishing would succeed."""
    act = proposal.act
    kind = kind_of(act)
    message = signed_digest(act)
    counts: list[Count] = []
    for charter in councils_for(state, act):
        counted = tally(message, proposal.signatures, council_keys(charter))
        needed = charter.thresholds.grave if kind == "charter" else threshold_for(charter, kind)
        missing = tuple(c.name for c in charter.council if c.name not in counted.signers)
        counts.append(Count(f"v{charter.version} council", needed, tuple(sorted(counted.signers)), missing,
                            counted.forged))
    chair = None
    delegated = False
    if state.trusted is not None:
        chair = chair_at(state.trusted.charter.rotation, now, state.appointments)
        delegated = kind in state.trusted.charter.delegated
    try:
        publish(state, proposal, now)
        problem = ""
    except GovernanceError as exc:
        problem = str(exc)
    return ProposalStatus(proposal.id, kind, act.opened_by, act.opened_at, tuple(counts), chair, delegated,
                          problem == "", problem)
