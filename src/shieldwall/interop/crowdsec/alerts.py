"""CrowdSec alerts, as a log processor posts them, turned into this member's signals.

Pure. The model reads only the fields used here and lets the rest pass:
CrowdSec adds alert fields between versions, and a gateway refusing them would
drop detections for the sake of fields it never reads. Sizes stay bounded at the
HTTP edge (:mod:`.watcher_api`).

A CrowdSec alert is one log processor's word, like an agent's detection: it
becomes a ``detection`` signal and the alliance's policy decides. Simulated
alerts (CrowdSec's dry run for a scenario) never become signals, so they never
block anyone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from shieldwall.addresses import blame_key, canonical_target, parse_address
from shieldwall.errors import AddressError
from shieldwall.signals.signal import Signal


class Source(msgspec.Struct, frozen=True):
    scope: str = ""
    value: str = ""
    ip: str = ""
    range: str = ""


class Alert(msgspec.Struct, frozen=True):
    """The part of CrowdSec's ``models.Alert`` a signal needs."""

    scenario: str = ""
    scenario_hash: str = ""
    scenario_version: str = ""
    message: str = ""
    events_count: int = 1
    start_at: str = ""
    stop_at: str = ""
    simulated: bool = False
    source: Source | None = None


_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def scenario_name(crowdsec: str) -> str:
    """A Shieldwall scenario name for a CrowdSec one: ``crowdsecurity/ssh-bf`` -> ``crowdsecurity.ssh-bf``.

    Kept recognisable (the hub's policy lists it by this name) and within the
    signal's ``[a-z0-9._-]{1,64}``.
    """
    name = _UNSAFE.sub("-", crowdsec.strip().lower().replace("/", ".")).strip("._-")
    return name[:64].rstrip("._-") or "crowdsec-unnamed"


def parse_go_time(text: str) -> float | None:
    """Unix seconds of Go's RFC 3339 text (nanoseconds allowed); ``None`` when unreadable."""
    raw = _FRACTION.sub(r"\1", text.strip()).replace("Z", "+00:00")
    try:
        stamp = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


@dataclass(frozen=True, slots=True)
class Skipped:
    """An alert that does not become a signal, and why."""

    reason: str


def target_of(source: Source | None, ipv6_prefix: int) -> str | Skipped:
    """The signal target of an alert's source: an address (IPv6 keyed by prefix) or a range."""
    if source is None:
        return Skipped("no source")
    scope = source.scope.lower()
    try:
        if scope == "ip":
            # As the agent's own detections: one IPv6 host owns its whole /64.
            return blame_key(parse_address(source.value or source.ip), ipv6_prefix)
        if scope == "range":
            return canonical_target(source.value or source.range)
    except AddressError as exc:
        return Skipped(f"source is not an address: {exc}")
    return Skipped(f"scope {source.scope[:40]!r} is not an address or range")


def signal_of(
    alert: Alert, *, now: float, ipv6_prefix: int = 64,
    allowed: Callable[[str], bool] = lambda target: False,
) -> Signal | Skipped:
    """The signal ``alert`` becomes, or why it does not.

    ``allowed`` is this member's allowlist (a target it never reports).
    """
    if alert.simulated:
        return Skipped("simulated")
    target = target_of(alert.source, ipv6_prefix)
    if isinstance(target, Skipped):
        return target
    if allowed(target):
        return Skipped("allowlisted on this member")
    start, stop = parse_go_time(alert.start_at), parse_go_time(alert.stop_at)
    first = start if start is not None else stop if stop is not None else now
    last = stop if stop is not None else first
    evidence = [f"crowdsec alert: {alert.scenario[:128]} version {alert.scenario_version[:32]} "
                f"scenario_hash {alert.scenario_hash[:128]}"]
    if alert.message:
        evidence.append(alert.message[:512])
    return Signal(
        kind="detection",
        target=target,
        scenario=scenario_name(alert.scenario),
        count=max(1, min(alert.events_count, 1_000_000)),
        first_seen=min(first, last),
        last_seen=max(first, last),
        reason="crowdsec",
        evidence=tuple(evidence),
    )
