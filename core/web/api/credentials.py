"""Officer API for issued credentials: view, QR image, and status changes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from govcred.core.qr import render_png
from govcred.core.services.credential_status import STATUS_ROLES, change_status, credential_view
from govcred.core.web.authn import current_principal, roles_required
from govcred.core.web.context import runtime_of
from govcred.core.web.jsonbody import json_body

bp = Blueprint("credentials", __name__, url_prefix="/api/v1/credentials")

OFFICER_ROLES = ("clerk", "reviewer", "admin")

_CREDENTIAL_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "permit_no": {"type": "string"},
        "version": {"type": "integer"},
        "credential_type": {"type": "string"},
        "status": {"type": "string"},
        "status_reason": {"type": "string"},
        "status_changed_at": {"type": ["string", "null"]},
        "issued_at": {"type": "string"},
        "not_before": {"type": "string"},
        "expires_at": {"type": "string"},
        "kid": {"type": "string"},
        "name_masked": {"type": "string"},
        "id_masked": {"type": "string"},
        "county": {"type": "string"},
        "status_list": {"type": "object"},
    },
}
_ID_PARAM = [{"name": "credential_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_PROBLEM = {"$ref": "#/components/responses/Problem"}

OPENAPI_PATHS = {
    "/api/v1/credentials/{credential_id}": {
        "get": {
            "summary": "One credential as officers see it (masked claims only)",
            "parameters": _ID_PARAM,
            "responses": {
                "200": {
                    "description": "The credential",
                    "content": {"application/json": {"schema": _CREDENTIAL_SCHEMA}},
                },
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
            },
        }
    },
    "/api/v1/credentials/{credential_id}/qr.png": {
        "get": {
            "summary": "The credential's QR code (PNG), e.g. for printing at the window",
            "parameters": _ID_PARAM,
            "responses": {
                "200": {"description": "PNG image", "content": {"image/png": {}}},
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
            },
        }
    },
    "/api/v1/credentials/{credential_id}/status": {
        "post": {
            "summary": "Revoke, suspend or reinstate (reviewer, admin); the reason is told to the holder",
            "parameters": _ID_PARAM,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["status", "reason"],
                            "properties": {
                                "status": {"enum": ["revoked", "suspended", "valid"]},
                                "reason": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "The credential after the change",
                    "content": {"application/json": {"schema": _CREDENTIAL_SCHEMA}},
                },
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
                "409": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
}


def _load(credential_id: str):
    rt = runtime_of()
    with rt.uow(readonly=True) as uow:
        credential = uow.credentials.get(credential_id)
    return rt, credential


@bp.get("/<credential_id>")
@roles_required(*OFFICER_ROLES)
def show(credential_id: str):
    rt, credential = _load(credential_id)
    return jsonify(credential_view(credential, rt.settings.issuer))


@bp.get("/<credential_id>/qr.png")
@roles_required(*OFFICER_ROLES)
def qr_png(credential_id: str):
    _, credential = _load(credential_id)
    response = Response(render_png(credential.token, scale=6), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<credential_id>/status")
@roles_required(*STATUS_ROLES)
def set_status(credential_id: str):
    body = json_body()
    rt = runtime_of()
    credential = change_status(
        rt.collaborators, credential_id, body.get("status"), reason=body.get("reason"), principal=current_principal()
    )
    return jsonify(credential_view(credential, rt.settings.issuer))
