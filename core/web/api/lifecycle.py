"""Permits after issue: status, endorsement window and history; endorsement (签注), replacement
(换领/补领), cancellation (注销) and the holder's reminder choices.

Residents act online on their own permits (another holder's permit is a 404); clerks act at
the window; cancellation is for reviewers and admins. A refused endorsement answers 409
``ENDORSEMENT_REFUSED`` with every finding at once (一次性告知); a request before the window
answers 409 ``OUTSIDE_ENDORSEMENT_WINDOW`` naming the window's dates.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from govcred.core.exceptions import Conflict
from govcred.core.services import lifecycle
from govcred.core.services.personal_data_reads import read_permit
from govcred.core.web.authn import current_principal, login_required, roles_required
from govcred.core.web.context import request_id, runtime_of
from govcred.core.web.errors import problem
from govcred.core.web.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from govcred.core.web.idempotency import idempotent
from govcred.core.web.jsonbody import json_body

bp = Blueprint("lifecycle", __name__, url_prefix="/api/v1")


def _channel(principal) -> str:
    return "online" if principal.kind == "resident" else "window"


def _permit(permit_no: str):
    return jsonify(lifecycle.permit_view(runtime_of().collaborators, permit_no, current_principal()))


@bp.get("/permits")
@roles_required(*lifecycle.OFFICER_VIEW_ROLES)
def queue():
    return jsonify(
        {
            "permits": lifecycle.permit_queue(
                runtime_of().collaborators, current_principal(), queue=request.args.get("queue", "window_open")
            )
        }
    )


@bp.get("/permits/<permit_no>")
@login_required
def show(permit_no: str):
    return jsonify(read_permit(runtime_of().collaborators, permit_no, current_principal(), request_id=request_id()))


@bp.post("/permits/<permit_no>/endorsement")
@login_required
@idempotent
def endorse(permit_no: str):
    principal = current_principal()
    body = json_body()
    try:
        lifecycle.request_endorsement(
            runtime_of().collaborators, permit_no, principal, _channel(principal), conditions=body.get("conditions")
        )
    except Conflict as exc:
        if exc.code == "OUTSIDE_ENDORSEMENT_WINDOW":
            return problem(
                409,
                exc.code,
                exc.message,
                window={"start": exc.details["window_start"], "end": exc.details["window_end"]},
            )
        if exc.code == "ENDORSEMENT_REFUSED":
            return problem(409, exc.code, exc.message, findings=exc.details["findings"])
        raise
    return _permit(permit_no)


@bp.post("/permits/<permit_no>/replacement")
@login_required
@idempotent
def replace(permit_no: str):
    principal = current_principal()
    credential = lifecycle.replace_permit(
        runtime_of().collaborators, permit_no, principal, _channel(principal), reason=json_body().get("reason")
    )
    response = _permit(credential.permit_no)
    response.status_code = 201
    return response


@bp.post("/permits/<permit_no>/cancellation")
@roles_required(*lifecycle.CANCEL_ROLES)
@idempotent
def cancel(permit_no: str):
    body = json_body()
    lifecycle.cancel_permit(
        runtime_of().collaborators, permit_no, current_principal(), reason=body.get("reason"), note=body.get("note", "")
    )
    return _permit(permit_no)


@bp.put("/permits/<permit_no>/reminders")
@login_required
def reminders(permit_no: str):
    lifecycle.set_reminders(runtime_of().collaborators, permit_no, current_principal(), json_body().get("reminders"))
    return _permit(permit_no)


_PROBLEM = {"$ref": "#/components/responses/Problem"}
_PERMIT_NO = [{"name": "permit_no", "in": "path", "required": True, "schema": {"type": "string"}}]
_VERSION = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "status": {"type": "string"},
        "status_reason": {"type": "string"},
        "status_changed_at": {"type": ["string", "null"]},
        "issued_at": {"type": "string"},
        "expires_at": {"type": "string"},
        "residence_start": {"type": ["string", "null"], "format": "date"},
    },
}
_PERMIT = {
    "description": "The permit: status, next endorsement window, reminders and every version",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "permit_no": {"type": "string"},
                    "status": {"type": "string", "enum": ["valid", "suspended", "revoked", "replaced", "cancelled"]},
                    "lapsed": {"type": "boolean"},
                    "residence_start": {"type": ["string", "null"], "format": "date"},
                    "endorsement_window": {
                        "type": ["object", "null"],
                        "properties": {
                            "start": {"type": "string", "format": "date"},
                            "end": {"type": "string", "format": "date"},
                            "text": {"type": "string"},
                            "open": {"type": "boolean"},
                        },
                    },
                    "reminders": {"type": "array", "items": {"type": "string"}},
                    "history": {"type": "array", "items": _VERSION},
                },
            }
        }
    },
}

OPENAPI_PATHS = {
    "/api/v1/permits": {
        "get": {
            "summary": "Officers' queue: permits whose endorsement window is open, or suspended for a missed endorsement",
            "parameters": [
                {
                    "name": "queue",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(lifecycle.QUEUES), "default": "window_open"},
                }
            ],
            "responses": {
                "200": {
                    "description": "At most 500 permits",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"permits": {"type": "array", "items": {"type": "object"}}},
                            }
                        }
                    },
                },
                "401": _PROBLEM,
                "403": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/permits/{permit_no}": {
        "get": {
            "summary": "A permit's status, next endorsement window and history (its holder and officers)",
            "parameters": _PERMIT_NO,
            "responses": {"200": _PERMIT, "401": _PROBLEM, "404": _PROBLEM},
        }
    },
    "/api/v1/permits/{permit_no}/endorsement": {
        "post": {
            "summary": "Endorse (签注) the permit: residents online, clerks at the window; free, no new photo",
            "parameters": [*_PERMIT_NO, IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "conditions": {
                                    "type": "array",
                                    "description": "The holder's current conditions, when they changed",
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _PERMIT,
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
                "409": {
                    "description": "Outside the window (with its dates), refused (with every finding), "
                    "or a status that cannot be endorsed",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                },
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/permits/{permit_no}/replacement": {
        "post": {
            "summary": "换领 (damaged) or 补领 (lost): a new permit number; the old credential stops verifying",
            "parameters": [*_PERMIT_NO, IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["reason"],
                            "properties": {"reason": {"type": "string", "enum": list(lifecycle.REPLACEMENT_REASONS)}},
                        }
                    }
                },
            },
            "responses": {
                "201": _PERMIT,
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
                "409": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/permits/{permit_no}/cancellation": {
        "post": {
            "summary": "注销: the holder obtained local hukou or left the county (reviewers and admins)",
            "parameters": [*_PERMIT_NO, IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["reason"],
                            "properties": {
                                "reason": {"type": "string", "enum": list(lifecycle.CANCEL_REASONS)},
                                "note": {"type": "string", "maxLength": lifecycle.MAX_NOTE_CHARS},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _PERMIT,
                "401": _PROBLEM,
                "403": _PROBLEM,
                "404": _PROBLEM,
                "409": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/permits/{permit_no}/reminders": {
        "put": {
            "summary": "Choose the SMS reminders (短信定制化服务): endorsement_due, week_before, after_suspension",
            "parameters": _PERMIT_NO,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["reminders"],
                            "properties": {
                                "reminders": {
                                    "type": "array",
                                    "items": {
                                        "type": "string",
                                        "enum": ["endorsement_due", "week_before", "after_suspension"],
                                    },
                                }
                            },
                        }
                    }
                },
            },
            "responses": {"200": _PERMIT, "401": _PROBLEM, "404": _PROBLEM, "422": _PROBLEM},
        }
    },
}
