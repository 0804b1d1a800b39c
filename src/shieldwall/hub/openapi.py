"""The hub's OpenAPI 3.1 document, built from the same msgspec types the API uses."""

from __future__ import annotations

from typing import Any

import msgspec

from shieldwall import __version__
from shieldwall.decisions.codec import DecisionPage
from shieldwall.governance.admission import AdmissionRequest, SignedWelcome
from shieldwall.governance.checkpoint import SignedCheckpoint
from shieldwall.hub.api import LeaveResponse
from shieldwall.hub.disputes import Dispute, DisputeAnswer
from shieldwall.hub.join import JoinRequest, JoinResponse
from shieldwall.hub.problem import Problem
from shieldwall.hub.proxies import ProxiesAnswer, ProxyDeclaration
from shieldwall.signals.envelope import Ack, Envelope

_SIGNED: list[dict[str, list[str]]] = [
    {"memberKey": [], "memberTime": [], "memberContent": [], "memberSignature": []}
]


def _problems(*codes: int) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {
        str(code): {
            "description": "Problem details (RFC 9457)",
            "content": {"application/problem+json": {"schema": ref}},
        }
        for code in codes
    }


def _json(name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def openapi_document() -> dict[str, Any]:
    """The document served at ``/openapi.json``."""
    _, components = msgspec.json.schema_components(
        [Envelope, Ack, DecisionPage, JoinRequest, JoinResponse, LeaveResponse, Dispute,
         DisputeAnswer, Problem, SignedCheckpoint, AdmissionRequest, SignedWelcome,
         ProxyDeclaration, ProxiesAnswer],
        ref_template="#/components/schemas/{name}",
    )
    cursor_param = {
        "name": "after", "in": "query", "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        "description": "Return decisions with a cursor above this one.",
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Shieldwall hub",
            "version": __version__,
            "description": (
                "Members POST signed envelopes of signals and follow the decision log. "
                "Every member request (envelopes included; joins excepted) carries an "
                "Ed25519 request signature in the X-Shieldwall-* headers, checked before "
                "the body is read."
            ),
        },
        "paths": {
            "/v1/council/checkpoint": {
                "get": {
                    "summary": "The hub's signed checkpoint of its decision log (under a council)",
                    "security": _SIGNED,
                    "responses": {"200": _json("SignedCheckpoint", "The chain head, signed by the hub key"),
                                  **_problems(401, 404, 503)},
                }
            },
            "/v1/council/acts": {
                "get": {
                    "summary": "The council's act log (a JSON array of act records, oldest first)",
                    "security": _SIGNED,
                    "responses": {"200": {"description": "Act records; verify them from the pinned charter"},
                                  **_problems(401, 404)},
                }
            },
            "/v1/council/charters": {
                "get": {
                    "summary": "Every charter version with the signatures that published it",
                    "security": _SIGNED,
                    "responses": {"200": {"description": "Signed charters, version 1 first"},
                                  **_problems(401, 404)},
                }
            },
            "/v1/signals": {
                "post": {
                    "summary": "Submit a signed batch of signals",
                    "security": _SIGNED,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Envelope"}}},
                    },
                    "responses": {
                        "200": _json("Ack", "Durable; a retry of an applied batch says duplicate"),
                        **_problems(400, 401, 408, 409, 413, 422, 429, 503),
                    },
                }
            },
            "/v1/decisions": {
                "get": {
                    "summary": "A page of decisions after a cursor",
                    "security": _SIGNED,
                    "parameters": [
                        cursor_param,
                        {"name": "limit", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                    ],
                    "responses": {
                        "200": _json("DecisionPage", "Decisions in cursor order"),
                        **_problems(400, 401, 413),
                    },
                }
            },
            "/v1/decisions/stream": {
                "get": {
                    "summary": "Server-Sent Events: decisions after Last-Event-ID, then live",
                    "security": _SIGNED,
                    "parameters": [
                        cursor_param,
                        {"name": "Last-Event-ID", "in": "header", "required": False,
                         "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "An event stream",
                                "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                        **_problems(400, 401),
                    },
                }
            },
            "/v1/join": {
                "post": {
                    "summary": "Join with the one-time secret from a join token",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/JoinRequest"}}},
                    },
                    "responses": {
                        "201": _json("JoinResponse", "Registered"),
                        **_problems(400, 403, 408, 413, 422, 503),
                    },
                }
            },
            "/v1/join/admitted": {
                "post": {
                    "summary": "Under a council: the signed welcome of a member admitted by vote",
                    "security": _SIGNED,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/AdmissionRequest"}}},
                    },
                    "responses": {
                        "200": _json("SignedWelcome", "What a join token would have carried"),
                        **_problems(400, 401, 403, 404, 408, 413),
                    },
                }
            },
            "/v1/leave": {
                "post": {
                    "summary": "Leave the alliance (revokes the signing key)",
                    "security": _SIGNED,
                    "responses": {
                        "200": _json("LeaveResponse", "Key revoked"),
                        **_problems(401, 408, 413),
                    },
                }
            },
            "/v1/disputes": {
                "post": {
                    "summary": "Dispute a decision with evidence (weighed against its makers)",
                    "security": _SIGNED,
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Dispute"}}}},
                    "responses": {
                        "200": _json("DisputeAnswer", "What the dispute led to"),
                        **_problems(400, 401, 408, 413, 503),
                    },
                }
            },
            "/v1/proxies": {
                "post": {
                    "summary": "Declare the member's reverse proxies (its own detections of them"
                               " are refused; a new declaration replaces the last)",
                    "security": _SIGNED,
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ProxyDeclaration"}}}},
                    "responses": {
                        "200": _json("ProxiesAnswer", "The proxies stored, canonical and sorted"),
                        **_problems(400, 401, 408, 413, 503),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "Text exposition", "content": {
                        "text/plain": {"schema": {"type": "string"}}}}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness",
                    "responses": {"200": {"description": "OK", "content": {
                        "application/json": {"schema": {"type": "object"}}}}},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: the ledger takes writes",
                    "responses": {
                        "200": {"description": "Ready", "content": {
                            "application/json": {"schema": {"type": "object"}}}},
                        **_problems(503),
                    },
                }
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "memberKey": {"type": "apiKey", "in": "header", "name": "X-Shieldwall-Key"},
                "memberTime": {"type": "apiKey", "in": "header", "name": "X-Shieldwall-Time"},
                "memberContent": {
                    "type": "apiKey", "in": "header", "name": "X-Shieldwall-Content"
                },
                "memberSignature": {
                    "type": "apiKey", "in": "header", "name": "X-Shieldwall-Signature"
                },
            },
        },
    }
