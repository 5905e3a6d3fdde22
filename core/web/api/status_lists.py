"""``GET /status/<list_id>``: the signed Token Status List, public and cacheable.

Integrity comes from the signature, so anyone (a CDN, a verifier in another county) may fetch
and cache it; the whole list is served, never one credential's entry (herd privacy).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from govcred.core.exceptions import NotFound
from govcred.core.orm import status_lists
from govcred.core.status import status_list_uri
from govcred.core.web.authn import public
from govcred.core.web.context import runtime_of

bp = Blueprint("status", __name__)

MEDIA_TYPE = "application/statuslist+jwt"
_LIST_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")

OPENAPI_PATHS = {
    "/status": {
        "get": {
            "summary": "Every status list of this issuer (status_list_aggregation), so verifiers can prefetch them all",
            "security": [],
            "responses": {
                "200": {
                    "description": "List URIs",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"status_lists": {"type": "array", "items": {"type": "string"}}},
                            }
                        }
                    },
                }
            },
        }
    },
    "/status/{list_id}": {
        "get": {
            "summary": "A signed Token Status List (statuslist+jwt, 2 bits: valid / revoked / suspended)",
            "security": [],
            "parameters": [{"name": "list_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The compact JWS", "content": {MEDIA_TYPE: {"schema": {"type": "string"}}}},
                "404": {"$ref": "#/components/responses/Problem"},
            },
        }
    },
}


@bp.get("/status")
@public
def aggregation():
    rt = runtime_of()
    with rt.uow(readonly=True) as uow:
        ids = uow.session.execute(sa.select(status_lists.c.id).order_by(status_lists.c.created_at)).scalars().all()
    response = jsonify({"status_lists": [status_list_uri(rt.settings.issuer, list_id) for list_id in ids]})
    response.headers["Cache-Control"] = f"public, max-age={rt.settings.status_list_ttl_seconds}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/status/<list_id>")
@public
def status_list(list_id: str):
    if not _LIST_ID.fullmatch(list_id):
        raise NotFound("未找到该状态列表", code="STATUS_LIST_NOT_FOUND")
    rt = runtime_of()
    signed = rt.status_list_publisher.current(list_id)
    remaining = signed.exp - int(rt.clock.now().timestamp())
    response = Response(signed.token, mimetype=MEDIA_TYPE)
    # A cache may hold it for one ttl at most, and never past the token's own exp.
    response.headers["Cache-Control"] = f"public, max-age={max(0, min(signed.ttl, remaining))}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
