"""Resident sign-in for the API: a 6-digit code by SMS, exchanged for a bearer token.

The policy (rate limits, guesses, lifetime, hashing, outbox delivery) is
:mod:`govcred.core.accounts.login_codes` and :mod:`govcred.core.accounts.signin`, shared with
the resident pages.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from govcred.core.accounts import signin
from govcred.core.accounts.login_codes import send_login_code
from govcred.core.web.api.openapi import json_request
from govcred.core.web.authn import public
from govcred.core.web.context import runtime_of
from govcred.core.web.jsonbody import json_body

bp = Blueprint("resident_login", __name__, url_prefix="/api/v1/auth")


@bp.post("/sms-code")
@public
def sms_code():
    sent = send_login_code(runtime_of().collaborators, json_body().get("phone"), ip=request.remote_addr or "-")
    # the code_id goes back with the code: a code someone else asks for never replaces this one
    response = jsonify({"sent": True, "expires_in": sent.expires_in, "code_id": sent.code_id})
    response.status_code = 202
    return response


@bp.post("/resident-token")
@public
def resident_token():
    body = json_body()
    issued = signin.sign_in_resident_token(
        runtime_of().collaborators, body.get("phone"), body.get("code"), code_id=body.get("code_id")
    )
    return jsonify({"access_token": issued.token, "token_type": "Bearer", "expires_at": issued.expires_at.isoformat()})


_PROBLEM = {"$ref": "#/components/responses/Problem"}
_PHONE = {"type": "string", "pattern": "^1[3-9][0-9]{9}$"}

OPENAPI_PATHS = {
    "/api/v1/auth/sms-code": {
        "post": {
            "summary": "Send a 6-digit sign-in code to a mobile number; the answer's code_id goes back with the code",
            "description": (
                "Limited per number, per source address and in total (settings login_codes_per_number, "
                "login_codes_per_address, login_codes_total): 429 with Retry-After."
            ),
            "security": [],
            "requestBody": json_request({"phone": _PHONE}, ["phone"]),
            "responses": {"202": {"description": "Queued for delivery"}, "422": _PROBLEM, "429": _PROBLEM},
        }
    },
    "/api/v1/auth/resident-token": {
        "post": {
            "summary": "Exchange the SMS code for a resident bearer token",
            "security": [],
            "requestBody": json_request(
                {
                    "phone": _PHONE,
                    "code": {"type": "string", "pattern": "^[0-9]{6}$"},
                    "code_id": {"type": "string", "description": "What POST /api/v1/auth/sms-code answered"},
                },
                ["phone", "code", "code_id"],
            ),
            "responses": {"200": {"description": "A bearer token"}, "401": _PROBLEM, "422": _PROBLEM},
        }
    },
}
