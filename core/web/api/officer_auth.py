"""``POST /api/v1/auth/token``: officers exchange username and password for a bearer token
(the rules are :func:`govcred.core.accounts.signin.sign_in_officer_token`'s)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from govcred.core.accounts import signin
from govcred.core.exceptions import ErrorList
from govcred.core.web.authn import bearer_token, login_required, public
from govcred.core.web.context import runtime_of
from govcred.core.web.jsonbody import json_body

bp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth")


@bp.post("/token")
@public
def token():
    body = json_body()
    errors = ErrorList()
    for field in ("username", "password"):
        if not isinstance(body.get(field), str) or not body.get(field):
            errors.add(field, "REQUIRED", f"缺少 {field}")
    errors.raise_if_any()
    issued = signin.sign_in_officer_token(runtime_of().collaborators, body["username"], body["password"])
    return jsonify(
        {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_at": issued.expires_at.isoformat(),
            "role": issued.role,
        }
    )


@bp.delete("/token")
@login_required
def revoke():
    token = bearer_token()
    if token is not None:  # a page session's caller has no token to revoke
        signin.sign_out_token(runtime_of().collaborators, token)
    return "", 204
