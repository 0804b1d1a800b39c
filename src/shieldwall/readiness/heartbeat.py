"""The heartbeat: a member's readiness as it travels to the hub, and the hub's answer.

A member's agent sends ``POST /v1/heartbeat`` every ``[readiness] interval``,
authenticated as every member request is (:mod:`shieldwall.signals.request_signature`:
the signature covers the body's hash). The body names the member (it must be the
signer), the member's clock when it was sent (strictly increasing per member: a
replayed heartbeat is refused; the hub also reads clock skew from it), the interval
it promises (the hub marks it failing after three silent intervals) and each check's
state and reason, and (``applied``) when the member enforced each decision since its
last accepted heartbeat (:mod:`shieldwall.readiness.applied`: at most
:data:`~shieldwall.readiness.applied.APPLIED_CAP` pairs, newest kept; omitted when
empty, so a hub older than the field still takes a beat with nothing applied). The
answer carries the hub's clock and head and the alliance's versions, so that R5, R6
and R8 can be judged against the alliance.

Pure: decoding and the checks no schema can express take ``now`` and values.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shieldwall.errors import SignalError
from shieldwall.readiness.applied import APPLIED_CAP
from shieldwall.readiness.verdict import Check, State, Verdict
from shieldwall.signals.bounds import Cursor, Name, Seconds

#: Heartbeats are small: a member with every check's reason at its longest and a full
#: ``applied`` list (~30 bytes a pair) fits.
MAX_HEARTBEAT_BODY = 64 * 1024
MIN_INTERVAL, MAX_INTERVAL = 1.0, 3600.0
#: How many intervals of silence make a member failing.
SILENT_INTERVALS = 3

_Code = Annotated[str, msgspec.Meta(pattern=r"^R[1-9][0-9]?$")]
_Label = Annotated[str, msgspec.Meta(max_length=64)]
_Text = Annotated[str, msgspec.Meta(max_length=1024)]
_Digest = Annotated[str, msgspec.Meta(max_length=128)]
_Interval = Annotated[float, msgspec.Meta(ge=MIN_INTERVAL, le=MAX_INTERVAL)]


class CheckReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One check as reported: code (R1-R8), name, state and the reason to act on."""

    code: _Code
    name: _Label
    state: State
    reason: _Text


class Heartbeat(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The signed body of ``POST /v1/heartbeat`` (defaults are left out on the wire)."""

    member: Name
    #: The member's clock when it sent this heartbeat.
    at: Seconds
    interval: _Interval
    checks: Annotated[tuple[CheckReport, ...], msgspec.Meta(max_length=16)]
    #: Pack name -> version (digest) this member runs.
    packs: Annotated[dict[_Label, _Digest], msgspec.Meta(max_length=64)] = {}
    #: ``(decision seq, applied at on the member's clock)`` since the last accepted beat.
    applied: Annotated[tuple[tuple[Cursor, Seconds], ...],
                       msgspec.Meta(max_length=APPLIED_CAP)] = ()


class DrillNews(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the hub knows of drills: the alliance's last one, and this member's part."""

    #: When the alliance last ran a drill (``None``: never).
    alliance_last: Seconds | None = None
    passed: bool | None = None
    at: Seconds | None = None
    detail: _Text = ""
    id: _Label = ""


class HeartbeatAnswer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The hub's answer: its clock and head, and the alliance's versions."""

    member: Name
    #: The hub's clock when it accepted the heartbeat (sub-second, unlike ``Date``).
    at: Seconds
    head: Cursor
    #: The member's state as the roster holds it now.
    state: State
    #: The alliance's pack versions (name -> digest), as the hub runs them.
    packs: Annotated[dict[_Label, _Digest], msgspec.Meta(max_length=256)] = {}
    #: The alliance's policy version (a digest of the policy the hub decides under).
    policy: _Digest = ""
    drill: DrillNews = msgspec.field(default_factory=DrillNews)
    #: False when this member's reports do not count toward a quorum now.
    counts: bool = True


_decoder = msgspec.json.Decoder(Heartbeat)
_answer_decoder = msgspec.json.Decoder(HeartbeatAnswer)


def heartbeat_of(member: str, verdict: Verdict, at: float, interval: float,
                 packs: dict[str, str] | None = None,
                 applied: tuple[tuple[int, float], ...] = ()) -> Heartbeat:
    """The heartbeat for ``verdict`` (reasons cut to the wire's bound, ``applied`` to
    its newest :data:`~shieldwall.readiness.applied.APPLIED_CAP`)."""
    checks = tuple(CheckReport(c.code, c.name[:64], c.state, c.reason[:1024])
                   for c in verdict.checks)
    return Heartbeat(member=member, at=float(at), interval=float(interval), checks=checks,
                     packs=dict(packs or {}), applied=applied[-APPLIED_CAP:])


def encode(value: Heartbeat | HeartbeatAnswer) -> bytes:
    """JSON bytes of a heartbeat or an answer."""
    return msgspec.json.encode(value)


def decode_heartbeat(raw: bytes, signer: str, last_at: float | None) -> Heartbeat:
    """The heartbeat in ``raw`` from ``signer``; raises :class:`SignalError` otherwise.

    ``last_at`` is the member clock of the last heartbeat accepted from it: one not
    strictly later is a replay (or a retry the hub already took) and is refused.
    """
    try:
        beat = _decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SignalError("malformed", f"heartbeat: {exc}") from None
    if beat.member != signer:
        raise SignalError("forged", f"heartbeat names member {beat.member!r} but is signed by"
                                    f" {signer!r}")
    codes = [c.code for c in beat.checks]
    if len(set(codes)) != len(codes):
        raise SignalError("malformed", "heartbeat: a check is reported twice")
    if last_at is not None and beat.at <= last_at:
        raise SignalError("replayed", "heartbeat is not later than the last one accepted from"
                                      " this member (a replay, or its clock went back)")
    return beat


def decode_answer(raw: bytes) -> HeartbeatAnswer:
    """The hub's answer; raises :class:`SignalError` (``malformed``) when unreadable."""
    try:
        return _answer_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SignalError("malformed", f"heartbeat answer: {exc}") from None


def checks_of(beat: Heartbeat) -> tuple[Check, ...]:
    """The reported checks as :class:`Check` values."""
    return tuple(Check(c.code, c.name, c.state, c.reason) for c in beat.checks)
