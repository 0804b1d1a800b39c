"""The leader/follower state machine: leads only with a fresh confirmation, never revives
a lapsed lease, and every new leadership has a higher epoch (pure, clock passed in)."""

from __future__ import annotations

import pytest

from shieldwall.hub.ledger.postgres.lease import (
    Lease,
    LeaseTimes,
    Role,
    acquired,
    confirmed,
    refused,
    stepped_down,
)

TIMES = LeaseTimes(retry=0.5, heartbeat=1.0, lease=3.0)


def test_a_follower_retries_the_lock_after_the_retry_interval() -> None:
    lease = refused(Lease(), 10.0, TIMES)
    assert lease.role is Role.FOLLOWER and lease.due == 10.5
    assert not lease.may_append(10.0, TIMES)


def test_a_leader_appends_only_while_its_lock_was_confirmed_within_the_lease() -> None:
    lease = acquired(Lease(), 1, 100.0, TIMES)
    assert lease.role is Role.LEADER and lease.epoch == 1 and lease.due == 101.0
    assert lease.may_append(102.9, TIMES)
    assert not lease.may_append(103.0, TIMES)
    lease = confirmed(lease, 102.0, TIMES)
    assert lease.may_append(104.9, TIMES) and lease.due == 103.0


def test_a_confirmation_after_the_lease_ran_out_does_not_revive_it() -> None:
    lease = confirmed(acquired(Lease(), 4, 100.0, TIMES), 103.5, TIMES)
    assert lease.role is Role.FOLLOWER and lease.epoch == 4
    assert not lease.may_append(103.5, TIMES)
    assert lease.due == 104.0


def test_stepping_down_keeps_the_epoch_and_a_new_leadership_must_exceed_it() -> None:
    lease = stepped_down(acquired(Lease(), 2, 0.0, TIMES), 1.0, TIMES)
    assert lease.role is Role.FOLLOWER and lease.epoch == 2 and not lease.may_append(1.0, TIMES)
    with pytest.raises(ValueError, match="must exceed"):
        acquired(lease, 2, 2.0, TIMES)
    assert acquired(lease, 5, 2.0, TIMES).epoch == 5


def test_a_follower_is_not_changed_by_a_confirmation() -> None:
    follower = refused(Lease(), 1.0, TIMES)
    assert confirmed(follower, 2.0, TIMES) is follower


@pytest.mark.parametrize(
    ("retry", "heartbeat", "lease"), [(0.5, 3.0, 3.0), (0.0, 1.0, 3.0), (0.5, 0.0, 3.0), (3.0, 1.0, 3.0)]
)
def test_timings_that_cannot_keep_a_lease_are_refused(retry: float, heartbeat: float, lease: float) -> None:
    with pytest.raises(ValueError, match="heartbeat < lease"):
        LeaseTimes(retry=retry, heartbeat=heartbeat, lease=lease)
