"""Synthetic attack lines for a drill target, run through the member's real detection path.

The lines are what the service itself would write (an sshd failed password, a
scanner's request in nginx's combined format), parsed by the same pack through an
:class:`~shieldwall.events.stream.EventStream` and counted by a
:class:`~shieldwall.detection.detector.Detector` over the member's own scenarios
and ``detection.allow``: the same code and configuration as real lines. They go
to fresh instances, never the agent's: a drill's counts cannot leak into a real
window, and the lines are never written to any real log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shieldwall.addresses import Ranges, target_network
from shieldwall.detection.detection import Detection
from shieldwall.detection.detector import Detector
from shieldwall.detection.scenario import Scenario
from shieldwall.drills.order import covers
from shieldwall.drills.stage import Failure
from shieldwall.events.packs import PackSpec
from shieldwall.events.stream import EventStream

#: Lines fed at most before the drill gives up on a detection.
MAX_LINES = 200


def _sshd(target: str, now: float, index: int) -> bytes:
    stamp = dt.datetime.fromtimestamp(now, dt.UTC)
    when = f"{stamp:%b} {stamp.day:>2} {stamp:%H:%M:%S}"
    return (f"{when} drill sshd[{40000 + index}]: Failed password for invalid user"
            f" drill{index} from {target} port {50000 + index} ssh2\n").encode()


def _http(target: str, now: float, index: int) -> bytes:
    stamp = dt.datetime.fromtimestamp(now, dt.UTC)
    return (f'{target} - - [{stamp:%d/%b/%Y:%H:%M:%S} +0000] "GET /.env?drill={index} HTTP/1.1"'
            f' 404 153 "-" "sqlmap/1.7 (drill)"\n').encode()


#: pack name -> line maker; a member needs one source with one of these packs.
TEMPLATES = {"sshd": _sshd, "http": _http}


@dataclass(frozen=True, slots=True)
class Rehearsal:
    """What feeding the lines gave: the detection, or why none came."""

    detection: Detection | None
    lines: int
    pack: str = ""
    failure: Failure = ""
    detail: str = ""


def rehearse(target: str, packs: Sequence[PackSpec], scenarios: Iterable[Scenario],
             exempt: Ranges, now: float, ipv6_prefix: int = 64) -> Rehearsal:
    """Feed lines about ``target`` one by one until a scenario detects it.

    ``packs`` are the member's configured packs (the first with a template is used).
    A target this member's ``detection.allow`` exempts is a ``protected`` failure:
    a drill must never make a member act on what it protects.
    """
    pack = next((p for p in packs if p.name in TEMPLATES), None)
    if pack is None:
        names = ", ".join(p.name for p in packs) or "none"
        return Rehearsal(None, 0, failure="unsupported",
                         detail=f"no source with a drill pack ({', '.join(TEMPLATES)});"
                                f" this member reads {names}")
    protected = exempt.protecting(target_network(target))
    if protected is not None:
        return Rehearsal(None, 0, pack.name, "protected",
                         f"detection.allow here covers {target} ({protected})")
    stream = EventStream(pack, year=dt.datetime.fromtimestamp(now, dt.UTC).year,
                         ipv6_prefix=ipv6_prefix)
    detector = Detector(scenarios, exempt)
    make = TEMPLATES[pack.name]
    for index in range(MAX_LINES):
        for detection in detector.feed(stream.feed(make(target, now, index))):
            if covers(detection.key, target):
                return Rehearsal(detection, index + 1, pack.name)
    return Rehearsal(None, MAX_LINES, pack.name, "missing",
                     f"{MAX_LINES} drill lines for pack {pack.name} raised no detection: is a"
                     " scenario for it configured?")
