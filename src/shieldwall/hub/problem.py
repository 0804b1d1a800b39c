"""RFC 9457 problem details: every error the API returns."""

from __future__ import annotations

import msgspec
from starlette.responses import Response

PROBLEM_TYPE = "urn:shieldwall:problem:"

#: HTTP status for each rejection reason.
STATUS_FOR_REASON: dict[str, int] = {
    "malformed": 400,
    "bad-request": 400,
    "disconnected": 400,
    "unsigned": 401,
    "unknown-key": 401,
    "revoked-key": 401,
    "altered": 401,
    "forged": 401,
    "stale": 401,
    "future-dated": 401,
    "join-refused": 403,
    "not-found": 404,
    "method-not-allowed": 405,
    "timeout": 408,
    "replayed": 409,
    "too-large": 413,
    "invalid-signal": 422,
    "invalid": 422,
    "quota": 429,
    "too-many-streams": 429,
    "unavailable": 503,
    "busy": 503,
    "not-ready": 503,
}


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """An RFC 9457 problem document; ``reason`` is Shieldwall's machine-readable code."""

    type: str
    title: str
    status: int
    detail: str = ""
    reason: str = ""


class ProblemError(Exception):
    """Raised inside a handler to answer with a problem document."""

    def __init__(self, reason: str, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status or STATUS_FOR_REASON.get(reason, 400)


def problem_response(reason: str, detail: str, status: int | None = None) -> Response:
    """A ``application/problem+json`` response."""
    code = status or STATUS_FOR_REASON.get(reason, 400)
    body = Problem(
        type=PROBLEM_TYPE + reason,
        title=reason.replace("-", " ").capitalize(),
        status=code,
        detail=detail,
        reason=reason,
    )
    headers = {"WWW-Authenticate": 'Shieldwall realm="hub"'} if code == 401 else None
    return Response(
        msgspec.json.encode(body), status_code=code,
        media_type="application/problem+json", headers=headers,
    )
