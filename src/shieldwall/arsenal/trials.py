"""Chair-alone trials: a new rule in shadow, signed by the chair when the charter delegates it.

The council's threshold signs the arsenal's ``targets``; its delegated role ``trials``
(keys: the councillors, threshold 1, paths ``trials/*`` only) holds rules the chair
started alone. TUF checks that a councillor signed it; :func:`check_trials` adds what
TUF cannot know, on the hub before it publishes and on every member before it runs one:

- the charter in force lists ``trial`` among the acts the chair may sign alone;
- the role carries the time it was signed (``signed_at``), never earlier than the
  version before it, never in the future; a key that signed it validly is the chair's
  *at that time* (:func:`shieldwall.governance.chair.chair_at`: rotation and
  appointments), so a former chair or another councillor alone is refused;
- every target in it is a rule (or the role's index) whose status is ``experimental``
  and which carries no report: a chair alone can start a trial, never let a rule block.

The hub also refuses a ``signed_at`` away from its own clock, so a former chair cannot
date a new trial back into its term; a member refuses a new version dated before its
own last check of the set (``previous_at``: the hub publishes a trial when it is
signed), so only a member that never fetched the set before must take the hub's word
for the date. Pure: metadata, state and ``now`` in.
"""

from __future__ import annotations

from collections.abc import Mapping

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Key
from tuf.api.metadata import Metadata, Targets

from shieldwall.errors import ArsenalError
from shieldwall.governance.chair import chair_at
from shieldwall.governance.state import CouncilState

#: The delegated role, its folder, its index and the act kind the charter delegates.
ROLE = "trials"
FOLDER = "trials/"
INDEX = "trials/index.json"
KIND = "trial"
#: Seconds a trial's signing time may be ahead of a member's clock, or away from the hub's.
SKEW = 600
SIGNED_AT = "signed_at"


def trial_path(rule_id: str) -> str:
    """Where a chair-started rule lives in the ``trials`` role."""
    return f"{FOLDER}{rule_id}.toml"


def signed_at(md: Metadata[Targets]) -> int:
    """The signing time the role carries (0 when it carries none)."""
    value = md.signed.unrecognized_fields.get(SIGNED_AT, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def valid_signers(md: Metadata[Targets], keys: Mapping[str, Key]) -> set[str]:
    """Public keys (hex) of ``keys`` whose signature over ``md`` verifies."""
    found: set[str] = set()
    for keyid, signature in md.signatures.items():
        key = keys.get(keyid)
        if key is None:
            continue
        try:
            key.verify_signature(signature, md.signed_bytes)
        except UnverifiedSignatureError:
            continue
        found.add(str(key.keyval["public"]))
    return found


def check_trials(md: Metadata[Targets], keys: Mapping[str, Key], council: CouncilState | None,
                 previous_at: int, now: float, *, hub: bool = False) -> str:
    """Whether the ``trials`` role ``md`` is the chair's to sign now; returns the chair's name.

    ``keys`` are the role's keys from the council-signed ``targets`` delegation (TUF has
    checked a threshold of them already); ``council`` the verified council state (``None``:
    no council, so no chair); ``previous_at`` the signing time of the version trusted before.
    ``hub`` adds the hub's check of ``signed_at`` against its own clock. Raises
    :class:`ArsenalError`: ``not-delegated``, ``not-chair``, ``backdated``, ``misdated``,
    ``invalid-status``.
    """
    version = md.signed.version
    for path, info in md.signed.targets.items():
        custom = info.unrecognized_fields.get("custom")
        fields = custom if isinstance(custom, dict) else {}
        if path == INDEX:
            continue
        if not path.startswith(FOLDER) or not path.endswith(".toml"):
            raise ArsenalError("invalid", f"trials v{version} names {path!r}: the role holds rules only")
        if fields.get("status") != "experimental" or fields.get("report_sha256"):
            raise ArsenalError(
                "invalid-status", f"trials v{version}: {path} is {fields.get('status')!r}: the chair alone"
                " may only start a rule as experimental; test and stable need the council's threshold")
    if council is None or council.trusted is None:
        raise ArsenalError("not-delegated", f"trials v{version} is signed by one councillor, but this"
                           " arsenal has no council whose charter delegates trials to the chair")
    charter = council.trusted.charter
    if KIND not in charter.delegated:
        raise ArsenalError("not-delegated", f"charter v{charter.version} does not delegate trials to the"
                           " chair: a new rule needs the council's threshold (or a charter that lists"
                           " `trial` among its delegated acts)")
    at = signed_at(md)
    if at <= 0:
        raise ArsenalError("invalid", f"trials v{version} carries no signing time")
    if at < previous_at:
        raise ArsenalError("backdated", f"trials v{version} is dated before the version it replaces or"
                           " before this member last checked the set: it was dated back")
    if at > now + SKEW:
        raise ArsenalError("misdated", f"trials v{version} is dated {at - now:.0f} s in the future:"
                           " check the signer's clock and sign it again")
    if hub and at < now - SKEW:
        raise ArsenalError("backdated", f"trials v{version} is dated {now - at:.0f} s ago: a trial is"
                           " published when it is signed; sign it again now")
    chair = chair_at(charter.rotation, at, council.appointments)
    seat = next((c for c in charter.council if c.name == chair), None)
    signers = valid_signers(md, keys)
    if seat is None or seat.public_key not in signers:
        names = sorted(c.name for c in charter.council if c.public_key in signers) or ["nobody known"]
        raise ArsenalError("not-chair", f"trials v{version} is signed by {', '.join(names)}, but the"
                           f" chair when it was signed was {chair or 'nobody'}: only the chair starts a"
                           " trial alone")
    return seat.name
