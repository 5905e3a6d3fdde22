"""Public, unauthenticated documents: the issuer's JWKS."""

from __future__ import annotations

from flask import Blueprint, jsonify

from govcred.core.web.context import runtime_of

bp = Blueprint("wellknown", __name__)


@bp.get("/.well-known/jwks.json")
def jwks():
    response = jsonify(runtime_of().keystore.jwks())
    # verifiers refresh on a schedule; let caches hold it briefly
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
