"""The member's follower: a hub whose log ends before the member's cursor is an incident."""

from __future__ import annotations

import pytest

from shieldwall.decisions.follow import HubRegressed, check_head


def test_a_hub_head_at_or_beyond_the_cursor_is_fine() -> None:
    check_head(10, 10, "hub:8443")
    check_head(11, 10, "hub:8443")


def test_a_hub_head_behind_the_cursor_is_an_incident_naming_both() -> None:
    with pytest.raises(HubRegressed, match=r"cursor 3\b.*cursor 40"):
        check_head(3, 40, "hub:8443")
