"""Review API: the reviewers' queue (earliest deadline first), the officers' search and
decisions.

A decision names the application ``version`` the reviewer looked at; if another officer
changed or decided the application meanwhile the answer is 409, never a silent overwrite.
Approval returns the new credential (id, token, a link to its QR code).
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for

from govcred.core.exceptions import Conflict, ErrorList
from govcred.core.services import batch_decisions, decisions, issuance, officer_search, review_queue
from govcred.core.web.api.applications import application_json, decision_json
from govcred.core.web.authn import current_principal, roles_required
from govcred.core.web.context import runtime_of
from govcred.core.web.errors import problem
from govcred.core.web.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from govcred.core.web.idempotency import idempotent
from govcred.core.web.jsonbody import json_body

bp = Blueprint("review", __name__, url_prefix="/api/v1")


@bp.errorhandler(Conflict)
def _conflict(exc: Conflict):
    """409 with the blocking findings, when that is why the approval was refused."""
    extra = {"findings": exc.details["findings"]} if "findings" in exc.details else {}
    return problem(exc.http_status, exc.code, exc.message, **extra)


@bp.get("/review/queue")
@roles_required("reviewer", "admin")
def queue():
    states = [s for value in request.args.getlist("state") for s in value.split(",") if s] or ["accepted"]
    page = review_queue.review_queue(
        runtime_of().collaborators,
        current_principal(),
        states=states,
        channel=request.args.get("channel") or None,
        due=request.args.get("due") or None,
        after=request.args.get("after") or None,
        limit=_limit_arg(),
    )
    out = []
    for item in page.items:
        body = _listed(item.application)
        body.update(due_today=item.due_today, overdue=item.overdue)
        out.append(body)
    return jsonify({"items": out, "count": len(out), "next": page.next, "counts": page.counts})


def _listed(app) -> dict:
    """An application as a list shows it: masked data only (open it to review it)."""
    body = application_json(app)
    del body["document"]
    body["reference"] = app.reference
    return body


def _limit_arg() -> int:
    """``limit`` as given, or -1 (refused by the service, with the range) when it is no number."""
    limit = request.args.get("limit", str(review_queue.DEFAULT_PAGE))
    return int(limit) if limit.isdecimal() and len(limit) < 6 else -1


@bp.post("/applications/search")
@roles_required("clerk", "reviewer", "admin")
def search_post():
    """Officer search with the query in a JSON body ``{"q", "limit", "after"}``: the form to use,
    as a query string ends up in access logs (the server's, a proxy's) and a body does not."""
    body = json_body()
    return _search(body.get("q", ""), body.get("after"), body.get("limit", review_queue.DEFAULT_PAGE))


@bp.get("/applications")
@roles_required("clerk", "reviewer", "admin")
def search():
    """``GET ?q=``: kept for the clients written before the POST form; same answer."""
    return _search(request.args.get("q", ""), request.args.get("after") or None, _limit_arg())


def _search(q: object, after: object, limit: object):
    """Officer search by ID number, 办件编号, permit number or phone (``q``, kind detected)."""
    page = officer_search.search_applications(
        runtime_of().collaborators,
        current_principal(),
        q,
        after=after,
        limit=limit,
        request_id=g.get("request_id"),
    )
    items = [_listed(app) for app in page.items]
    return jsonify(
        {
            "query": {"kind": page.query.kind, "kind_zh": page.query.kind_zh},
            "items": items,
            "count": len(items),
            "next": page.next,
        }
    )


@bp.post("/review/batch-approve")
@roles_required("reviewer", "admin")
def batch_approve():
    """No Idempotency-Key: the TOTP code confirming the batch is consumed, so a repeated
    request is refused (TOTP_REPLAYED) instead of approving twice."""
    body = json_body()
    errors = ErrorList()
    totp = body.get("totp")
    if not isinstance(totp, str):
        errors.add("totp", "REQUIRED", "totp 必须是当前的 6 位动态验证码")
    for name in ("channel", "due"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            errors.add(name, f"{name.upper()}_INVALID", f"{name} 必须是文字")
    for name in sorted(set(body) - {"totp", "channel", "due", "limit"}):
        errors.add(name, "UNKNOWN_FIELD", f"不允许的字段：{name[:40]}")
    errors.raise_if_any()
    report = batch_decisions.approve_batch(
        runtime_of().collaborators,
        current_principal(),
        totp_code=totp,
        channel=body.get("channel"),
        due=body.get("due"),
        limit=body.get("limit", 1000),
    )
    return jsonify(report.as_dict())


@bp.post("/applications/<app_id>/decision")
@roles_required("reviewer", "admin")
@idempotent
def decide(app_id: str):
    body = json_body()
    errors = ErrorList()
    approve = body.get("approve")
    if not isinstance(approve, bool):
        errors.add("approve", "REQUIRED", "approve 必须是 true 或 false")
    reasons = body.get("reasons", [])
    if not isinstance(reasons, list):
        errors.add("reasons", "REASONS_INVALID", "reasons 必须是文字列表")
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        errors.add("version", "VERSION_INVALID", "version 必须是整数")
    for name in sorted(set(body) - {"approve", "reasons", "version"}):
        errors.add(name, "UNKNOWN_FIELD", f"不允许的字段：{name[:40]}")
    errors.raise_if_any()
    rt = runtime_of()
    decision = decisions.decide(
        rt.collaborators,
        app_id,
        approve=approve,
        principal=current_principal(),
        officer_reasons=reasons,
        expected_version=version,
    )
    out: dict = {"decision": decision_json(decision), "credential": None}
    if decision.credential_id:
        credential = issuance.credential_for(rt.collaborators, decision.credential_id)
        out["credential"] = {
            "id": credential.id,
            "permit_no": credential.permit_no,
            "token": credential.token,
            "expires_at": credential.expires_at.isoformat(),
            "qr_png": url_for("applications.credential_qr", app_id=app_id),
        }
    return jsonify(out)


_PROBLEM = {"$ref": "#/components/responses/Problem"}
#: the keyset paging of the queue and the search
_PAGING = (
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    {
        "name": "after",
        "in": "query",
        "schema": {"type": "string"},
        "description": "the `next` of the previous page (keyset pagination)",
    },
)

#: what the search's ``q`` takes
_QUERY = {
    "type": "string",
    "maxLength": 64,
    "description": "18-character ID number, reference (any case, with or without hyphens), permit number, "
    "or 11-digit mobile number",
}
_SEARCH_BODY = {
    "type": "object",
    "required": ["q"],
    "properties": {
        "q": _QUERY,
        "limit": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        "after": {"type": ["string", "null"], "description": "the `next` of the previous page (keyset pagination)"},
    },
}
_SEARCH_RESPONSES = {
    "200": {
        "description": "query (kind: id_number | reference | permit_no | phone, kind_zh), items "
        "(masked, with reference), count (on this page), next (cursor or null)",
    },
    "401": _PROBLEM,
    "403": _PROBLEM,
    "422": _PROBLEM,
}

OPENAPI_PATHS = {
    "/api/v1/review/queue": {
        "get": {
            "summary": "Applications to decide, earliest deadline first, with due_today / overdue flags (Beijing time)",
            "parameters": [
                {
                    "name": "state",
                    "in": "query",
                    "schema": {"type": "string"},
                    "description": "comma-separated; default accepted",
                },
                {"name": "channel", "in": "query", "schema": {"type": "string", "enum": ["online", "window"]}},
                {"name": "due", "in": "query", "schema": {"type": "string", "enum": ["today", "overdue"]}},
                *_PAGING,
            ],
            "responses": {
                "200": {
                    "description": "One page of the queue: items, count (on this page), next (cursor or null), "
                    "counts by_state, by_channel and by_due (overdue, today, later, none) of the whole queue",
                },
                "403": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/applications/search": {
        "post": {
            "summary": "Officer search (the form to use): the applications of an ID number (through its blind "
            "index), a 办件编号, a permit number or a phone, detected from q; paged in the queue's order; "
            "audited (the kind searched, never the query). The query travels in the body, so it stays "
            "out of the access logs of the server and of any proxy",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _SEARCH_BODY}},
            },
            "responses": _SEARCH_RESPONSES,
        }
    },
    "/api/v1/applications": {
        "get": {
            "deprecated": True,
            "summary": "Officer search with the query in the address, kept for older clients: use "
            "POST /api/v1/applications/search instead, as a query string (an ID number, a phone) lands in "
            "access logs. Same answer",
            "parameters": [
                {"name": "q", "in": "query", "required": True, "schema": _QUERY},
                *_PAGING,
            ],
            "responses": _SEARCH_RESPONSES,
        }
    },
    "/api/v1/review/batch-approve": {
        "post": {
            "summary": "Approve every rule-clean accepted application of the filtered queue (bulk work), "
            "confirmed by the reviewer's current TOTP code; each gets its own decision, credential, "
            "audit entries and messages, the rest stay in the queue and are listed",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["totp"],
                            "properties": {
                                "totp": {"type": "string", "description": "the reviewer's current 6-digit code"},
                                "channel": {"type": "string", "enum": ["online", "window"]},
                                "due": {"type": "string", "enum": ["today", "overdue"]},
                                "limit": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1000},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "approved (count), skipped (application, codes), transactions, credentials"},
                "401": _PROBLEM,
                "403": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/applications/{app_id}/decision": {
        "post": {
            "summary": "Approve (issues the credential) or reject with every reason at once",
            "parameters": [
                {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}},
                IDEMPOTENCY_KEY,
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["approve"],
                            "properties": {
                                "approve": {"type": "boolean"},
                                "reasons": {"type": "array", "items": {"type": "string"}},
                                "version": {"type": "integer", "description": "the application version reviewed"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "The decision, and on approval the credential"},
                "403": _PROBLEM,
                "404": _PROBLEM,
                "409": {
                    "description": "Changed or decided by another officer (APPLICATION_CHANGED, "
                    "INVALID_STATE), or BLOCKING_FINDINGS_PRESENT with the findings",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                },
                "422": _PROBLEM,
            },
        }
    },
}
