"""Holder API: a logged-in resident's own credentials, fresh presentations, and who verified them.

Every query is scoped to the caller in SQL (``owner_id = :resident``); another resident's
credential is a 404, never a 403, so ids cannot be probed.
"""

from __future__ import annotations

import functools
import json
import urllib.error
import urllib.request

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from govcred.core import models
from govcred.core.claims import COUNTY, LOG_AUDIENCE, NAME_MASKED
from govcred.core.exceptions import AuthenticationRequired, NotFound, PermissionDenied
from govcred.core.orm import credentials
from govcred.core.presentation import issue_presentation
from govcred.core.qr import payload_text
from govcred.core.web.authn import current_principal
from govcred.core.web.context import runtime_of
from govcred.core.web.jsonbody import json_body

bp = Blueprint("holder", __name__, url_prefix="/api/v1/holder")

VERIFIER_TIMEOUT_SECONDS = 5

_ID_PARAM = [{"name": "credential_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_PROBLEM = {"$ref": "#/components/responses/Problem"}
OPENAPI_PATHS = {
    "/api/v1/holder/credentials": {
        "get": {
            "summary": "The logged-in resident's credentials",
            "responses": {
                "200": {
                    "description": "List",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"credentials": {"type": "array", "items": {"type": "object"}}},
                            }
                        }
                    },
                },
                "401": _PROBLEM,
                "403": _PROBLEM,
            },
        }
    },
    "/api/v1/holder/credentials/{credential_id}/presentation": {
        "post": {
            "summary": "A fresh presentation (60-120 s) of one's own credential, as token and QR text",
            "parameters": _ID_PARAM,
            "responses": {
                "200": {
                    "description": "Presentation",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "token": {"type": "string"},
                                    "qr": {"type": "string"},
                                    "expires_in": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
                "409": _PROBLEM,
            },
        }
    },
    "/api/v1/holder/credentials/{credential_id}/verifications": {
        "get": {
            "summary": "Institutions that verified this credential, as the configured verifiers logged it",
            "parameters": _ID_PARAM,
            "responses": {
                "200": {
                    "description": "Verifications",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "verifications": {"type": "array", "items": {"type": "object"}},
                                    "unavailable": {"type": "array", "items": {"type": "string"}},
                                },
                            }
                        }
                    },
                },
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
            },
        }
    },
}


def resident_required(view):
    @functools.wraps(view)
    def inner(*args, **kwargs):
        principal = current_principal()
        if principal is None:
            raise AuthenticationRequired("请先登录")
        if principal.kind != "resident":
            raise PermissionDenied("仅持证人本人可以访问")
        return view(principal.id, *args, **kwargs)

    inner.govcred_roles = ("resident",)
    return inner


def _own_credential(resident_id: str, credential_id: str) -> models.Credential:
    rt = runtime_of()
    with rt.uow(readonly=True) as uow:
        found = uow.session.execute(
            sa.select(models.Credential).where(credentials.c.id == credential_id, credentials.c.owner_id == resident_id)
        ).scalar_one_or_none()
    if found is None:
        raise NotFound("未找到该证件", code="CREDENTIAL_NOT_FOUND")
    return found


def _summary(credential: models.Credential) -> dict:
    return {
        "id": credential.id,
        "permit_no": credential.permit_no,
        "credential_type": credential.credential_type,
        "status": credential.status,
        "status_reason": credential.status_reason,
        "issued_at": credential.issued_at.isoformat(),
        "expires_at": credential.expires_at.isoformat(),
        "name_masked": credential.claims.get(NAME_MASKED, ""),
        "county": credential.claims.get(COUNTY, ""),
    }


@bp.get("/credentials")
@resident_required
def list_credentials(resident_id: str):
    rt = runtime_of()
    with rt.uow(readonly=True) as uow:
        summaries = [_summary(c) for c in uow.credentials.for_owner(resident_id)]
    return jsonify({"credentials": summaries})


@bp.post("/credentials/<credential_id>/presentation")
@resident_required
def presentation(resident_id: str, credential_id: str):
    rt = runtime_of()
    token = issue_presentation(rt.collaborators, _own_credential(resident_id, credential_id))
    return jsonify({"token": token, "qr": payload_text(token), "expires_in": rt.settings.presentation_seconds})


def verifier_urls() -> list[str]:
    """Base URLs of the verifier services to ask (``VERIFIER_URLS`` app config, else the
    ``verifier_urls`` setting, ``GOVCRED_VERIFIER_URLS`` comma-separated)."""
    configured = current_app.config.get("VERIFIER_URLS")
    if configured is None:
        configured = runtime_of().settings.verifier_urls
    return [u.rstrip("/") for u in configured]


@bp.get("/credentials/<credential_id>/verifications")
@resident_required
def verifications(resident_id: str, credential_id: str):
    rt = runtime_of()
    credential = _own_credential(resident_id, credential_id)
    found, unavailable = [], []
    for base in verifier_urls():
        # A presentation is the holder's proof of holding this credential towards the verifier.
        token = issue_presentation(rt.collaborators, credential, audience=LOG_AUDIENCE, require_valid=False)
        request = urllib.request.Request(
            f"{base}/api/v1/verifications", headers={"Authorization": f"Presentation {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=VERIFIER_TIMEOUT_SECONDS) as response:
                found.extend(json.loads(response.read(1_000_000))["verifications"])
        except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError):
            unavailable.append(base)
    found.sort(key=lambda v: v.get("at", ""), reverse=True)
    return jsonify({"verifications": found, "unavailable": unavailable})


@bp.post("/applications/<app_id>/rating")
@resident_required
def rate(resident_id: str, app_id: str):
    """好差评 of a decided application by its applicant."""
    from govcred.core.services.ratings import rate_service

    body = json_body()
    rating = rate_service(
        runtime_of().collaborators, current_principal(), app_id, body.get("score"), body.get("comment")
    )
    return jsonify(
        {"application_id": rating.application_id, "score": rating.score, "created_at": rating.created_at.isoformat()}
    ), 201


OPENAPI_PATHS["/api/v1/holder/applications/{app_id}/rating"] = {
    "post": {
        "summary": "Rate the service of a decided application (好差评), once, 1-5 with an optional comment",
        "parameters": [{"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["score"],
                        "properties": {
                            "score": {"type": "integer", "minimum": 1, "maximum": 5},
                            "comment": {"type": "string", "maxLength": 500},
                        },
                    }
                }
            },
        },
        "responses": {
            "201": {"description": "The rating"},
            "401": _PROBLEM,
            "403": _PROBLEM,
            "404": _PROBLEM,
            "409": _PROBLEM,
            "422": _PROBLEM,
        },
    }
}
