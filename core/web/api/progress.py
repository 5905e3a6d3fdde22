"""The public progress look-up for the API: a code to the phone on file for a 办件编号, then
the code for the progress as JSON. No account; the rules are
:mod:`govcred.core.services.progress` (shared with the pages), errors are problem+json."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request

from govcred.core.services import progress
from govcred.core.web.api.openapi import json_request
from govcred.core.web.authn import public
from govcred.core.web.context import runtime_of
from govcred.core.web.jsonbody import json_body

bp = Blueprint("progress_api", __name__, url_prefix="/api/v1/progress")


def _json(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


@bp.post("/code")
@public
def code():
    sent = progress.send_progress_code(
        runtime_of().collaborators, json_body().get("reference"), ip=request.remote_addr or "-"
    )
    body = {
        "sent": True,
        "message": sent.message,
        "reference": sent.reference,
        "phone_masked": sent.phone_masked,
        "code_id": sent.code_id,
        "expires_in": sent.expires_in,
    }
    response = jsonify(body)
    response.status_code = 202
    return response


@bp.post("")
@public
def view():
    deps = runtime_of().collaborators
    body = json_body()
    lookup = progress.open_progress(deps, body.get("reference"), body.get("code"), code_id=body.get("code_id"))
    return jsonify(_json(progress.progress_of(deps, lookup)))


_PROBLEM = {"$ref": "#/components/responses/Problem"}
_REFERENCE = {"type": "string", "description": "办件编号, e.g. 7K3M-9QX2-TADD (case, blanks and hyphens forgiven)"}
_CODE = {
    "code": {"type": "string", "pattern": "^[0-9]{6}$"},
    "code_id": {"type": "string", "description": "What POST /api/v1/progress/code answered"},
}

OPENAPI_PATHS = {
    "/api/v1/progress/code": {
        "post": {
            "summary": "Send a progress look-up code to the phone the application names",
            "description": (
                "Answers the same for an unknown reference (no SMS then, a made-up masked number); a "
                "reference that cannot be one is a 422 naming what is wrong. Limited per reference, per "
                "source address and in total: 429 with Retry-After."
            ),
            "security": [],
            "requestBody": json_request({"reference": _REFERENCE}, ["reference"]),
            "responses": {"202": {"description": "Sent if the reference is right"}, "422": _PROBLEM, "429": _PROBLEM},
        }
    },
    "/api/v1/progress": {
        "post": {
            "summary": "The progress of the application (read only, masked), for the code sent to its phone",
            "security": [],
            "requestBody": json_request({"reference": _REFERENCE, **_CODE}, ["reference", "code", "code_id"]),
            "responses": {"200": {"description": "The progress"}, "401": _PROBLEM, "422": _PROBLEM},
        }
    },
}
