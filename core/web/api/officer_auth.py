"""``POST /api/v1/auth/token``: officers exchange username and password for a bearer token."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from govcred.core.accounts.officers import issue_api_token, revoke_api_token, verify_password
from govcred.core.exceptions import AuthenticationRequired, ErrorList
from govcred.core.web.context import runtime_of
from govcred.core.web.authn import login_required, public
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
    rt = runtime_of()
    now = rt.clock.now()
    with rt.uow() as uow:
        officer = uow.officers.by_username(body["username"])
        ok = officer is not None and officer.active and verify_password(officer.password_hash, body["password"])
        uow.audit.append(actor=f"officer:{officer.id}" if officer else "anonymous", role=officer.role if officer else "",
                         action="auth.token", object_type="officer", object_id=officer.id if officer else "-",
                         outcome="success" if ok else "failure", details={"username": body["username"][:64]})
        if not ok:
            uow.commit()  # the failed attempt stays in the audit log
            raise AuthenticationRequired("用户名或密码错误", code="LOGIN_FAILED")
        token_value, expires = issue_api_token(uow, officer, now)
        uow.commit()
    return jsonify({"access_token": token_value, "token_type": "Bearer", "expires_at": expires.isoformat(),
                    "role": officer.role})


@bp.delete("/token")
@login_required
def revoke():
    rt = runtime_of()
    header = request.headers.get("Authorization", "")
    with rt.uow() as uow:
        revoke_api_token(uow, header[7:].strip(), rt.clock.now())
        uow.commit()
    return "", 204
