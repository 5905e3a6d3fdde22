"""The OpenAPI 3.1 document at ``/api/v1/openapi.json``.

Each API blueprint module describes its own operations in a module-level ``OPENAPI_PATHS``
mapping; this module merges them. A test checks that every ``/api/v1`` route is described.
"""

from __future__ import annotations

import importlib
import sys

from flask import Blueprint, current_app, jsonify

from govcred.core import __version__
from govcred.core.web.authn import public

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
    },
}


def json_request(properties: dict, required: list[str]) -> dict:
    """An operation's ``requestBody``: a required JSON object with ``properties``."""
    schema = {"type": "object", "required": required, "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


OPENAPI_PATHS = {
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}},
    },
    "/.well-known/jwks.json": {
        "get": {
            "summary": "The issuer's public signing keys (JWKS), retired keys included until their credentials expire",
            "security": [],
            "responses": {"200": {"description": "JWKS"}},
        },
    },
}


def build_document(app) -> dict:
    paths: dict = {}
    modules = {bp_.import_name for bp_ in app.blueprints.values()}
    for name in sorted(modules):
        module = sys.modules.get(name) or importlib.import_module(name)
        for path, ops in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(ops)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "govcred issuer API",
            "version": __version__,
            "description": "Applications, review and decisions, credentials and their status.",
        },
        "servers": [{"url": app.extensions["govcred"].settings.issuer}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": PROBLEM_SCHEMA,
                "FieldError": {
                    "type": "object",
                    "required": ["field", "code", "message"],
                    "properties": {
                        "field": {"type": "string"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
            "responses": {
                "Problem": {
                    "description": "An error (RFC 9457 problem details)",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
            },
        },
    }


@bp.get("/openapi.json")
@public
def openapi():
    return jsonify(build_document(current_app))
