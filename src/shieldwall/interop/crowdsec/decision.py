"""A CrowdSec decision as bouncers parse it, made from one of this member's blocks.

Field names and types follow CrowdSec 1.4.6's ``models.Decision`` as its LAPI
fills it (``FormatDecisions``): ``id`` an int64, ``scope`` spelt ``Ip`` or
``Range``, ``duration`` Go duration text (negative once expired). ``until``
is sent too (RFC 3339), which the model has and newer clients read.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import msgspec

from shieldwall.addresses import is_range
from shieldwall.interop.crowdsec.goduration import format_go_duration

SCOPE_IP = "Ip"
SCOPE_RANGE = "Range"
#: Every block is a ban: Shieldwall has no captcha or throttle remedies.
TYPE_BAN = "ban"
#: Origin of blocks that carry none (CrowdSec's own are "crowdsec", "cscli", "CAPI").
DEFAULT_ORIGIN = "shieldwall"


@dataclass(frozen=True, slots=True)
class Published:
    """A block as the bouncer API published it: its decision id and what it said.

    ``since`` is the id the target was first published with in its current run
    of being blocked (an extension gets a new ``id``, keeps ``since``).
    """

    id: int
    target: str
    until: float
    origin: str
    scenario: str
    since: int = 0


class CsDecision(msgspec.Struct, frozen=True, omit_defaults=True):
    """One decision in a ``/v1/decisions[/stream]`` answer."""

    id: int
    origin: str
    type: str
    scope: str
    value: str
    duration: str
    scenario: str
    until: str = ""
    simulated: bool = False


def scope_of(target: str) -> str:
    """``Range`` for a CIDR wider than one address, else ``Ip``."""
    return SCOPE_RANGE if is_range(target) else SCOPE_IP


def rfc3339(moment: float) -> str:
    """UTC RFC 3339 text for a Unix time (seconds precision), as Go prints it."""
    stamp = dt.datetime.fromtimestamp(int(moment), dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_decision(entry: Published, now: float) -> CsDecision:
    """The decision bouncers see for ``entry`` at ``now``."""
    forever = math.isinf(entry.until)
    return CsDecision(
        id=entry.id,
        origin=entry.origin or DEFAULT_ORIGIN,
        type=TYPE_BAN,
        scope=scope_of(entry.target),
        value=entry.target,
        duration=format_go_duration(math.inf if forever else entry.until - now),
        scenario=entry.scenario,
        until="" if forever else rfc3339(entry.until),
    )
