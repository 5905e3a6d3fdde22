"""Public, unauthenticated documents: the issuer's JWKS."""

from __future__ import annotations

from flask import Blueprint, jsonify

from govcred.core.web.context import runtime_of

bp = Blueprint("wellknown", __name__)


@bp.get("/.well-known/jwks.json")
def jwks():
    response = jsonify(runtime_of().keystore.jwks())
    # verifiers refresh on a schedule; caches may hold it only briefly, since a revoked key
    # (its ``revoked_keys``) must reach every verifier within one refresh
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
