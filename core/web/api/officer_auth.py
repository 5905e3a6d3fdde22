"""Officer sign-in for the API: ``POST /api/v1/auth/token`` (username, password and the TOTP
code), ``POST /api/v1/auth/token/factor`` (the TOTP code again, for the deciding calls that
need a factor from the last 10 minutes) and ``DELETE /api/v1/auth/token``. The rules are
:mod:`govcred.core.accounts.signin`'s, the same as the page log-in's."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from govcred.core.accounts import signin
from govcred.core.exceptions import AuthenticationRequired, ErrorList
from govcred.core.web.authn import bearer_token, login_required, public, roles_required
from govcred.core.web.context import runtime_of
from govcred.core.web.jsonbody import json_body

bp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth")

OFFICER_ROLES = ("clerk", "reviewer", "admin")


def _text(body: dict, field: str, errors: ErrorList, *, required: bool) -> str:
    value = body.get(field, "")
    if not isinstance(value, str) or (required and not value):
        errors.add(field, "REQUIRED", f"缺少 {field}" if required else f"{field} 必须是文字")
        return ""
    return value


def _token_json(issued: signin.IssuedToken) -> dict:
    return {
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_at": issued.expires_at.isoformat(),
        "role": issued.role,
        "factor_valid_until": issued.factor_until.isoformat() if issued.factor_until else None,
    }


@bp.post("/token")
@public
def token():
    body = json_body()
    errors = ErrorList()
    username = _text(body, "username", errors, required=True)
    password = _text(body, "password", errors, required=True)
    totp_code = _text(body, "totp", errors, required=False)
    errors.raise_if_any()
    issued = signin.sign_in_officer_token(
        runtime_of().collaborators,
        username,
        password,
        totp_code,
        ip=request.remote_addr or "-",
        request_id=g.get("request_id", ""),
    )
    return jsonify(_token_json(issued))


@bp.post("/token/factor")
@roles_required(*OFFICER_ROLES)
def token_factor():
    token = bearer_token()
    if token is None:  # a page session gives its factor by logging in again
        raise AuthenticationRequired("请使用令牌调用此接口（网页请重新登录）", code="TOKEN_REQUIRED")
    body = json_body()
    errors = ErrorList()
    totp_code = _text(body, "totp", errors, required=False)
    password = _text(body, "password", errors, required=False)
    errors.raise_if_any()
    issued = signin.refresh_token_factor(
        runtime_of().collaborators,
        token,
        password=password,
        totp_code=totp_code,
        ip=request.remote_addr or "-",
        request_id=g.get("request_id", ""),
    )
    return jsonify(_token_json(issued))


@bp.delete("/token")
@login_required
def revoke():
    token = bearer_token()
    if token is not None:  # a page session's caller has no token to revoke
        signin.sign_out_token(runtime_of().collaborators, token)
    return "", 204


_PROBLEM = {"$ref": "#/components/responses/Problem"}
_TOKEN = {
    "description": "A bearer token, and until when its factor counts as recent",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "access_token": {"type": "string"},
                    "token_type": {"type": "string"},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "role": {"type": "string"},
                    "factor_valid_until": {"type": "string", "format": "date-time"},
                },
            }
        }
    },
}
_TOTP = {"type": "string", "pattern": "^[0-9]{6}$", "description": "The current code of the officer's authenticator"}

OPENAPI_PATHS = {
    "/api/v1/auth/token": {
        "post": {
            "summary": "Exchange an officer's username, password and TOTP code for a bearer token",
            "description": (
                "Every officer gives the TOTP code (a clerk an administrator exempted gives none). "
                "The token ends after `officer_token_idle_minutes` unused and `officer_token_hours` "
                "after sign-in. Failures here and on the page log-in count together: 429 with "
                "Retry-After once an account or an address has too many."
            ),
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["username", "password"],
                            "properties": {
                                "username": {"type": "string"},
                                "password": {"type": "string"},
                                "totp": _TOTP,
                            },
                        }
                    }
                },
            },
            "responses": {"200": _TOKEN, "401": _PROBLEM, "422": _PROBLEM, "429": _PROBLEM},
        },
        "delete": {
            "summary": "Revoke the bearer token used for this request",
            "responses": {"204": {"description": "Revoked"}, "401": _PROBLEM},
        },
    },
    "/api/v1/auth/token/factor": {
        "post": {
            "summary": "Give the TOTP code again: the token's factor becomes recent (10 minutes)",
            "description": (
                "Decisions, status changes, cancellations and key rotation answer 401 "
                "RECENT_FACTOR_REQUIRED when the token's last factor is older than 10 minutes; "
                "this call refreshes it. A clerk exempt from TOTP gives the password instead."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {"totp": _TOTP, "password": {"type": "string"}}}
                    }
                },
            },
            "responses": {"200": _TOKEN, "401": _PROBLEM, "403": _PROBLEM, "422": _PROBLEM, "429": _PROBLEM},
        }
    },
}
