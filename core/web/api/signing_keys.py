"""``POST /api/v1/keys/rotation``: an administrator rotates the signing key (the rule, with
its recent-factor check, is :func:`govcred.core.services.signing_keys.rotate_signing_key`)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from govcred.core.services.signing_keys import ROTATE_ROLES, rotate_signing_key
from govcred.core.web.authn import current_principal, roles_required
from govcred.core.web.context import runtime_of

bp = Blueprint("signing_keys", __name__, url_prefix="/api/v1/keys")


@bp.post("/rotation")
@roles_required(*ROTATE_ROLES)
def rotate():
    info = rotate_signing_key(runtime_of().collaborators, current_principal())
    response = jsonify({"kid": info.kid, "alg": info.alg, "created_at": info.created_at.isoformat()})
    response.status_code = 201
    return response


_PROBLEM = {"$ref": "#/components/responses/Problem"}

OPENAPI_PATHS = {
    "/api/v1/keys/rotation": {
        "post": {
            "summary": "Make a new signing key; the previous one is retired but stays published (admin)",
            "description": "Needs a sign-in factor from the last 10 minutes (401 RECENT_FACTOR_REQUIRED otherwise).",
            "responses": {
                "201": {"description": "The new key's kid and algorithm"},
                "401": _PROBLEM,
                "403": _PROBLEM,
            },
        }
    }
}
