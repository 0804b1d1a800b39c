"""Sessions, login codes and CSRF: hostile and stale requests are refused."""

from __future__ import annotations

from shieldwall.ui.access import CODE_LIFETIME, SESSION_LIFETIME, Sessions, may_act

NOW = 1_764_380_000.0


def test_a_login_code_is_spent_once_and_expires() -> None:
    sessions = Sessions()
    sessions.issue_code("ops", "code-1", NOW)
    session = sessions.redeem("code-1", "token-1", "csrf-1", NOW + 1)
    assert session is not None and session.operator == "ops"
    assert sessions.redeem("code-1", "token-2", "csrf-2", NOW + 2) is None
    sessions.issue_code("ops", "code-2", NOW)
    assert sessions.redeem("code-2", "token-3", "csrf", NOW + CODE_LIFETIME + 1) is None
    assert sessions.redeem("never-issued", "t", "c", NOW) is None


def test_a_session_lives_for_its_lifetime_and_ends_at_logout() -> None:
    sessions = Sessions()
    sessions.issue_code("ops", "c", NOW)
    sessions.redeem("c", "token", "csrf", NOW)
    assert sessions.session("token", NOW + SESSION_LIFETIME - 1) is not None
    assert sessions.session("token", NOW + SESSION_LIFETIME) is None
    assert sessions.session("other", NOW) is None and sessions.session(None, NOW) is None
    sessions.end("token")
    assert sessions.session("token", NOW + 1) is None
    sessions.end(None)


def test_only_hashes_of_codes_and_tokens_are_kept() -> None:
    sessions = Sessions()
    sessions.issue_code("ops", "secret-code", NOW)
    sessions.redeem("secret-code", "secret-token", "csrf", NOW)
    sessions.issue_code("ops", "another-code", NOW)
    held = repr(sessions.codes) + repr(list(sessions.sessions))
    assert "secret-token" not in held and "another-code" not in held


def test_a_post_needs_the_session_its_token_and_this_origin() -> None:
    sessions = Sessions()
    sessions.issue_code("ops", "c", NOW)
    session = sessions.redeem("c", "t", "right", NOW)
    host = "hub.example:8443"
    assert may_act(session, "right", None, host) is None
    assert may_act(session, "right", f"https://{host}", host) is None
    assert "no operator session" in (may_act(None, "right", None, host) or "")
    assert "CSRF" in (may_act(session, "wrong", None, host) or "")
    assert "CSRF" in (may_act(session, "", None, host) or "")
    assert "cross-origin" in (may_act(session, "right", "https://evil.example", host) or "")
    assert "cross-origin" in (may_act(session, "right", "null", host) or "")
