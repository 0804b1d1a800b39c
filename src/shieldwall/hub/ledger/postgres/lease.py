"""Who decides: the leader/follower state of one replica, as values (``now`` passed in).

Leadership is a PostgreSQL advisory session lock held on a dedicated connection
(released by the server when that connection ends) plus an epoch, a counter the
new leader increments when it takes the lock. The lock keeps two leaders from
believing they lead for long; the epoch makes sure a leader that no longer holds
it cannot append (see :mod:`.decision_log`). This module only decides what the
replica believes and when its driver (:mod:`.elector`) acts next:

* a follower tries the lock every ``retry`` seconds;
* a leader confirms its lock connection every ``heartbeat`` seconds, and stops
  appending on its own once ``lease`` seconds pass without a confirmation (the
  server ends such an idle session after the same time, freeing the lock).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Role(StrEnum):
    """What the replica does with new signals."""

    FOLLOWER = "follower"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class LeaseTimes:
    """The election's timings, in seconds; the takeover bound is about ``lease + retry``."""

    retry: float = 0.5
    heartbeat: float = 1.0
    lease: float = 3.0

    def __post_init__(self) -> None:
        # The lock connection is idle between steps and the server ends a session idle
        # for the lease: both intervals must be shorter.
        if not (0 < self.heartbeat < self.lease and 0 < self.retry < self.lease):
            raise ValueError("election timings need 0 < heartbeat < lease and 0 < retry < lease")


@dataclass(frozen=True, slots=True)
class Lease:
    """One replica's view of the election."""

    role: Role = Role.FOLLOWER
    #: The epoch this replica leads under (0 while it never led).
    epoch: int = 0
    #: When the lock connection last answered while leading.
    confirmed: float = 0.0
    #: When the driver should act next (try the lock, or confirm it).
    due: float = 0.0

    def may_append(self, now: float, times: LeaseTimes) -> bool:
        """True while this replica leads and its lock was confirmed within the lease."""
        return self.role is Role.LEADER and now - self.confirmed < times.lease


def acquired(lease: Lease, epoch: int, now: float, times: LeaseTimes) -> Lease:
    """The lock was taken and the epoch raised to ``epoch``: lead."""
    if epoch <= lease.epoch:
        raise ValueError(f"a new epoch must exceed the last one ({epoch} <= {lease.epoch})")
    return Lease(Role.LEADER, epoch, now, now + times.heartbeat)


def refused(lease: Lease, now: float, times: LeaseTimes) -> Lease:
    """Another replica holds the lock: stay a follower, try again later."""
    return replace(lease, role=Role.FOLLOWER, due=now + times.retry)


def confirmed(lease: Lease, now: float, times: LeaseTimes) -> Lease:
    """The lock connection answered: the lease runs on from ``now``.

    A confirmation that comes after the lease ran out does not revive it: the
    server may have ended the session and another replica may lead already.
    """
    if lease.role is not Role.LEADER:
        return lease
    if not lease.may_append(now, times):
        return stepped_down(lease, now, times)
    return replace(lease, confirmed=now, due=now + times.heartbeat)


def stepped_down(lease: Lease, now: float, times: LeaseTimes) -> Lease:
    """The lock connection failed or the lease ran out: follow (the driver drops that
    connection, so the lock is free if the server still held it)."""
    return Lease(Role.FOLLOWER, lease.epoch, lease.confirmed, now + times.retry)
