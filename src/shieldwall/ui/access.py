"""Who may see the dashboard and who may act on it: loopback, sessions, CSRF.

Pure: every call takes ``now``; the random values come from the caller.

- **Seeing** (GET) needs only that the client's address is one the hub allows for
  the dashboard: loopback unless ``hub.toml`` says otherwise (``ui_allow``).
- **Acting** (POST: lift) needs an operator session. An operator is a member listed
  in ``operators``; its agent or CLI asks for a session with a request signed by
  its member key (the same request signature every member request carries), and
  gets a one-time login code. Opening ``/ui/login?code=...`` exchanges the code
  for a session cookie (``HttpOnly``, ``SameSite=Strict``) and the session's CSRF
  token, which every form repeats. A cross-site form carries neither the cookie
  (SameSite) nor the token, and a stolen code is spent once and expires in minutes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

#: How long a login code may wait before it is used.
CODE_LIFETIME = 300.0
#: How long an operator session lasts from login.
SESSION_LIFETIME = 8 * 3600.0
#: The cookie that carries the session.
COOKIE = "shieldwall_ui"


def _digest(secret: str) -> str:
    # Only hashes are kept: a memory dump of the hub does not hand out sessions.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """An operator's dashboard session."""

    operator: str
    csrf: str
    expires: float


@dataclass
class Sessions:
    """Login codes and sessions of one hub process (a replica keeps its own)."""

    codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)

    def _forget_expired(self, now: float) -> None:
        self.codes = {k: v for k, v in self.codes.items() if v[1] > now}
        self.sessions = {k: v for k, v in self.sessions.items() if v.expires > now}

    def issue_code(self, operator: str, code: str, now: float) -> float:
        """Remember a one-time login ``code`` for ``operator``; returns when it expires."""
        self._forget_expired(now)
        expires = now + CODE_LIFETIME
        self.codes[_digest(code)] = (operator, expires)
        return expires

    def redeem(self, code: str, token: str, csrf: str, now: float) -> Session | None:
        """Spend ``code`` (once) for a session named by ``token``; None if unknown or late."""
        self._forget_expired(now)
        found = self.codes.pop(_digest(code), None)
        if found is None:
            return None
        session = Session(operator=found[0], csrf=csrf, expires=now + SESSION_LIFETIME)
        self.sessions[_digest(token)] = session
        return session

    def session(self, token: str | None, now: float) -> Session | None:
        """The live session a cookie names, if any."""
        if not token:
            return None
        found = self.sessions.get(_digest(token))
        if found is None or found.expires <= now:
            return None
        return found

    def end(self, token: str | None) -> None:
        """Log out: the cookie's session is forgotten."""
        if token:
            self.sessions.pop(_digest(token), None)


def may_act(session: Session | None, form_csrf: str, origin: str | None, host: str) -> str | None:
    """Why a POST from the dashboard is refused, or None when it may proceed.

    ``origin`` is the request's Origin header (browsers send it on every POST); when
    present it must be this hub's own ``host``.
    """
    if session is None:
        return "no operator session: run `shieldwall ui login` on an operator member"
    if not form_csrf or not hmac.compare_digest(form_csrf, session.csrf):
        return "the form's CSRF token does not match this session (reload the page)"
    if origin is not None and origin.split("://", 1)[-1] != host:
        return f"cross-origin request from {origin!r} refused"
    return None
