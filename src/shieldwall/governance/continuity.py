"""Continuity: which charter versions a verifier accepts, and why it refuses the rest.

The rule is TUF's root rotation (the TUF specification's client step "update the
root role"): version N+1 is valid only if signed by the grave threshold of version
N's council *and* by the grave threshold of its own.
Nobody, including the hub, can therefore replace the council by fiat: a new
council needs the old one's consent, and the old one cannot impose keys that
never signed. The founding version is signed by the grave threshold of its own
council and is trusted because the verifier pinned its digest (which join tokens are
to carry).

Why our own document and not ``tuf.api.metadata.Root``: the charter must carry
two thresholds, which acts are grave, what the chair may sign alone, the chair's
rotation, and the policy and never-block hashes. In a TUF root these would all be
``unrecognized_fields``, which TUF deliberately accepts and does not check, while
the house rule is that unknown fields are refused at the boundary. TUF's canonical
JSON and securesystemslib signers would also bring a second signing stack next to
PyNaCl. The continuity rule itself is a few lines (below), tested with the hostile
cases of python-tuf's key-rotation tests (one key rotated without the old threshold,
without the new one, every key rotated through intermediate versions). TUF stays
the right tool for distributing rule packs, where ngclient does the fetching; a
charter maps onto a TUF root (council keys, grave threshold) for that repository.

Intermediate versions may have expired (as in TUF: a member offline for a year walks
the chain); the version a verifier ends on must not have (a frozen charter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shieldwall.errors import GovernanceError
from shieldwall.governance.charter import (
    Charter,
    SignedCharter,
    challenge,
    charter_digest,
    check_rules,
    council_keys,
)
from shieldwall.governance.signatures import tally, verifies

#: Every reason a charter version is refused.
REFUSALS: tuple[str, ...] = (
    "malformed", "invalid", "wrong-alliance", "replayed", "rolled-back", "wrong-version",
    "forked", "forged", "unsigned-by-old-council", "unsigned-by-new-council", "unproven-key",
    "expired",
)


@dataclass(frozen=True, slots=True)
class Trusted:
    """A charter version the verifier accepted, with its digest."""

    signed: SignedCharter
    digest: bytes

    @property
    def charter(self) -> Charter:
        return self.signed.charter


def verify_founding(signed: SignedCharter, pinned: bytes | None = None) -> Trusted:
    """Accept a founding (version 1) charter: guard rails, proofs, its own grave threshold.

    ``pinned`` is the digest the verifier was given out of band (a join token); a
    different founding charter is refused as ``forked``.
    """
    charter = signed.charter
    if charter.version != 1:
        raise GovernanceError("wrong-version", f"a founding charter is version 1, not {charter.version}")
    check_rules(charter)
    own = charter_digest(charter)
    if pinned is not None and own != pinned:
        raise GovernanceError("forked", "this founding charter is not the one pinned for the alliance")
    _check_proofs(charter, set())
    _check_signed(charter, signed, own, charter, "unsigned-by-new-council", "the founding council")
    return Trusted(signed, own)


def verify_successor(trusted: Trusted, signed: SignedCharter) -> Trusted:
    """Accept version N+1 of ``trusted`` (version N), or raise with the reason."""
    old, new = trusted.charter, signed.charter
    own = charter_digest(new)
    if new.alliance != old.alliance:
        raise GovernanceError("wrong-alliance", f"charter is for {new.alliance!r}, not {old.alliance!r}")
    if new.version <= old.version:
        if own == trusted.digest:
            raise GovernanceError("replayed", f"charter v{new.version} is already the trusted one")
        if new.version == old.version:
            raise GovernanceError("forked", f"a different charter v{new.version} than the trusted one")
        raise GovernanceError(
            "rolled-back", f"charter v{new.version} is not newer than the trusted v{old.version}")
    if new.version != old.version + 1:
        raise GovernanceError(
            "wrong-version", f"charter v{new.version} skips versions; v{old.version + 1} is next")
    if new.previous != trusted.digest.hex():
        raise GovernanceError("forked", f"charter v{new.version} does not follow the trusted v{old.version}")
    check_rules(new)
    _check_proofs(new, {(c.name, c.public_key) for c in old.council})
    memo: dict[tuple[str, str, str], bool] = {}
    _check_signed(old, signed, own, new, "unsigned-by-old-council", f"the v{old.version} council", memo)
    _check_signed(new, signed, own, new, "unsigned-by-new-council", f"the v{new.version} council", memo)
    return Trusted(signed, own)


def check_fresh(trusted: Trusted, now: int) -> None:
    """Refuse to act on a charter that has expired (frozen: no successor reached us)."""
    if now >= trusted.charter.expires:
        raise GovernanceError(
            "expired", f"charter v{trusted.charter.version} expired; fetch its successor from the council")


def follow_chain(trusted: Trusted, chain: Sequence[SignedCharter], now: int) -> Trusted:
    """Walk ``chain`` from ``trusted``, each version a valid successor; the last must be fresh.

    Versions below the trusted one are skipped (a verifier re-reads a chain from its
    start; what it already went past cannot be accepted again), the trusted one itself
    too if identical; everything after must be a valid successor of the one before.
    """
    for signed in chain:
        version = signed.charter.version
        if version < trusted.charter.version or (
                version == trusted.charter.version and charter_digest(signed.charter) == trusted.digest):
            continue
        trusted = verify_successor(trusted, signed)
    check_fresh(trusted, now)
    return trusted


def _check_proofs(charter: Charter, known: set[tuple[str, str]]) -> None:
    for seat in charter.council:
        if (seat.name, seat.public_key) in known:
            continue
        if not verifies(seat.public_key, challenge(charter.alliance, seat.name, seat.public_key), seat.proof):
            raise GovernanceError(
                "unproven-key", f"councillor {seat.name!r}'s key has not signed its admission challenge")


def _check_signed(council: Charter, signed: SignedCharter, message: bytes, new: Charter,
                  reason: str, who: str, memo: dict[tuple[str, str, str], bool] | None = None) -> None:
    needed = council.thresholds.grave
    counted = tally(message, signed.signatures, council_keys(council), memo)
    if not counted.meets(needed):
        why = "forged" if counted.forged else reason
        raise GovernanceError(why, f"charter v{new.version}: {counted.explain(needed, who)}")
