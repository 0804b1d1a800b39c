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
from shieldwall.governance.signatures import Signature, tally
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


def check_signature(state: CouncilState, proposal: Proposal, signature: Signature) -> str:
    """The councillor whose ``signature`` of ``proposal`` would count; raises if it would not.

    The same count as :func:`proposal_status` and publishing (:func:`tally` over the
    proposal's signed digest, for each council that must sign it), so a signature taken
    in (the dashboard pasting a ``.sig`` file) is one that ``council status`` counts.
    """
    if proposal.act.charter != state.charter_hex:
        raise GovernanceError(
            "wrong-charter", f"proposal {proposal.id} was made under another charter; propose it again")
    message = signed_digest(proposal.act)
    forged = False
    for charter in councils_for(state, proposal.act):
        counted = tally(message, (signature,), council_keys(charter))
        if counted.signers:
            return next(iter(counted.signers))
        forged = forged or bool(counted.forged)
    if forged:
        raise GovernanceError(
            "forged", f"the signature of key {signature.key_id} does not verify over proposal"
            f" {proposal.id}: it is forged, or was made for another proposal")
    raise GovernanceError(
        "not-on-council", f"key {signature.key_id} holds no seat on the council that signs proposal"
        f" {proposal.id}")
