"""The SQLite ledger: one log of cursors across processes, invites used once, atomic groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from shieldwall.errors import HubError
from shieldwall.hub.ledger.sqlite import SQLiteLedger
from shieldwall.hub.ledger.storage import (
    BatchRecord,
    DecisionRecord,
    InviteRecord,
    MemberRecord,
    WriteGroup,
)

NOW = 1_764_380_000.0


def block(target: str) -> DecisionRecord:
    return DecisionRecord("block", target, NOW + 60, "ssh-bruteforce", "alice", NOW)


async def test_two_writers_share_one_gapless_cursor_sequence(tmp_path: Path) -> None:
    hub, operator = SQLiteLedger(tmp_path / "l.db"), SQLiteLedger(tmp_path / "l.db")
    await hub.open()
    await operator.open()
    try:
        assert not await hub.changed_elsewhere()
        first = await hub.write(WriteGroup(decisions=[block("45.13.7.1"), block("45.13.7.2")]))
        second = await operator.write(WriteGroup(decisions=[block("45.13.7.3")]))
        assert await hub.changed_elsewhere()
        third = await hub.write(WriteGroup(decisions=[block("45.13.7.4")]))
        assert not await hub.changed_elsewhere()
        assert first + second + third == [1, 2, 3, 4]
        assert [d.cursor for d in await hub.decisions_after(1, 10)] == [2, 3, 4]
    finally:
        await hub.close()
        await operator.close()


async def test_invite_is_used_once_and_expires(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "l.db")
    await ledger.open()
    try:
        await ledger.add_invite(InviteRecord("h1", "", NOW, NOW + 60))
        await ledger.add_invite(InviteRecord("h2", "", NOW, NOW - 1))
        member = MemberRecord("web1", "k1", b"p" * 32, ("45.13.9.0/24",), 0.0)
        joined = await ledger.redeem_invite("h1", member, NOW)
        assert joined.name == "web1" and joined.owns == ("45.13.9.0/24",)
        with pytest.raises(HubError, match="already used"):
            await ledger.redeem_invite("h1", MemberRecord("web2", "k2", b"q" * 32, (), 0), NOW)
        with pytest.raises(HubError, match="expired"):
            await ledger.redeem_invite("h2", MemberRecord("web3", "k3", b"r" * 32, (), 0), NOW)
        with pytest.raises(HubError, match="not known"):
            await ledger.redeem_invite("nope", MemberRecord("web4", "k4", b"s" * 32, (), 0), NOW)
        assert [m.name for m in await ledger.members()] == ["web1"]
    finally:
        await ledger.close()


async def test_a_failing_group_writes_nothing(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "l.db")
    await ledger.open()
    try:
        await ledger.write(WriteGroup(batches=[BatchRecord("alice", 1, "d", NOW, 0)]))
        duplicate = WriteGroup(
            decisions=[block("45.13.7.1")],
            batches=[BatchRecord("alice", 2, "d", NOW, 0), BatchRecord("alice", 1, "d", NOW, 0)],
        )
        with pytest.raises(HubError, match="nothing was written"):
            await ledger.write(duplicate)
        assert await ledger.head() == 0 and await ledger.last_seqs() == {"alice": 1}
    finally:
        await ledger.close()


async def test_revoking_an_unknown_member_names_the_fix(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "l.db")
    await ledger.open()
    try:
        with pytest.raises(HubError, match="hub members"):
            await ledger.revoke_member("ghost", "expelled", NOW)
    finally:
        await ledger.close()
