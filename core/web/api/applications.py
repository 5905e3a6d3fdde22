"""Applications API: intake (online by residents, window by clerks), attachments, acceptance,
withdrawal, and the holder's view of an application.

Attachment flow: upload each proof first (``POST /api/v1/attachments``, multipart field
``file``), put the returned ids in the document (``conditions[].attachments``), then submit
(``POST /api/v1/applications``). Submission links the files to the application; when every
referenced file is present the application is accepted at once and gets its deadline.
"""

from __future__ import annotations

import io

from flask import Blueprint, Flask, Response, jsonify, request, send_file, url_for

from govcred.core import attachments
from govcred.core.exceptions import FieldError, NotFound, ValidationError
from govcred.core.qr import render_png
from govcred.core.services import intake, issuance
from govcred.core.services.personal_data_reads import read_application, read_attachment
from govcred.core.web.authn import current_principal, login_required, roles_required
from govcred.core.web.context import request_id, runtime_of
from govcred.core.web.idempotency import OPENAPI_PARAMETER as IDEMPOTENCY_KEY
from govcred.core.web.idempotency import idempotent
from govcred.core.web.jsonbody import json_body

bp = Blueprint("applications", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    from govcred.core.web.api import progress, resident_login

    app.register_blueprint(bp)
    app.register_blueprint(resident_login.bp)
    app.register_blueprint(progress.bp)


def _iso(value):
    return value.isoformat() if value is not None else None


def decision_json(decision) -> dict | None:
    if decision is None:
        return None
    return {
        "id": decision.id,
        "approved": decision.approved,
        "decided_at": _iso(decision.decided_at),
        "findings": decision.findings,
        "blocking": [f for f in decision.findings if f["severity"] == "blocking"],
        "officer_reasons": decision.officer_reasons,
        "credential_id": decision.credential_id,
    }


def application_json(app, decision=None) -> dict:
    return {
        "id": app.id,
        "schema": app.schema,
        "channel": app.channel,
        "state": app.state,
        "version": app.version,
        "subject": {"name": app.subject_name_masked, "id_number": app.subject_id_masked},
        "county": app.county,
        "created_at": _iso(app.created_at),
        "submitted_at": _iso(app.submitted_at),
        "accepted_at": _iso(app.accepted_at),
        "deadline": _iso(app.deadline),
        "deadline_provisional": app.deadline_provisional,
        "decided_at": _iso(app.decided_at),
        "permit_no": app.permit_no,
        "document": app.document,
        # what the application rests on: source (oidc, sms_code, window), acting_as, relation
        "identity": app.identity,
        "decision": decision_json(decision),
    }


def _created(body: dict, location: str) -> Response:
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


@bp.post("/applications")
@login_required
@idempotent
def submit():
    principal = current_principal()
    channel = "online" if principal.kind == "resident" else "window"
    app = intake.submit_application(runtime_of().collaborators, json_body(), principal=principal, channel=channel)
    return _created(application_json(app), url_for("applications.show", app_id=app.id))


@bp.get("/applications/<app_id>")
@login_required
def show(app_id: str):
    app, decision = read_application(runtime_of().collaborators, app_id, current_principal(), request_id=request_id())
    return jsonify(application_json(app, decision))


@bp.post("/applications/<app_id>/accept")
@roles_required("clerk", "admin")
def accept(app_id: str):
    app = intake.accept_application(runtime_of().collaborators, app_id, current_principal())
    return jsonify(application_json(app))


@bp.post("/applications/<app_id>/withdraw")
@login_required
def withdraw(app_id: str):
    app = intake.withdraw_application(runtime_of().collaborators, app_id, current_principal())
    return jsonify(application_json(app))


@bp.get("/applications/<app_id>/credential.png")
@login_required
def credential_qr(app_id: str):
    rt = runtime_of()
    _app, decision = intake.get_application(rt.collaborators, app_id, current_principal())
    if decision is None or not decision.credential_id:
        raise NotFound("该申请尚未签发证件", code="CREDENTIAL_NOT_FOUND")
    credential = issuance.credential_for(rt.collaborators, decision.credential_id)
    response = Response(render_png(credential.token), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/attachments")
@login_required
def upload():
    upload_file = request.files.get("file")
    if upload_file is None:
        raise ValidationError([FieldError("file", "REQUIRED", "请以 multipart/form-data 的 file 字段上传文件")])
    data = upload_file.stream.read(attachments.MAX_BYTES + 1)
    info = attachments.store(
        runtime_of().collaborators, data, upload_file.filename or "", principal=current_principal()
    )
    return _created(
        {
            "id": info.id,
            "content_type": info.content_type,
            "size": info.size,
            "sha256": info.sha256,
            "name": info.original_name,
        },
        url_for("applications.download", attachment_id=info.id),
    )


@bp.get("/attachments/<attachment_id>")
@login_required
def download(attachment_id: str):
    info, data = read_attachment(
        runtime_of().collaborators, attachment_id, current_principal(), request_id=request_id()
    )
    return send_file(
        io.BytesIO(data), mimetype=info.content_type, as_attachment=True, download_name=info.original_name, max_age=0
    )


_PROBLEM = {"$ref": "#/components/responses/Problem"}
_ID = [{"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}]
_APPLICATION = {"description": "The application", "content": {"application/json": {"schema": {"type": "object"}}}}

OPENAPI_PATHS = {
    "/api/v1/applications": {
        "post": {
            "summary": "Submit an application document (residents: online; clerks: window intake)",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["schema"],
                            "description": "Application document v1 (zj-residence/application@1)",
                        }
                    }
                },
            },
            "responses": {
                "201": _APPLICATION,
                "400": _PROBLEM,
                "401": _PROBLEM,
                "403": _PROBLEM,
                "409": _PROBLEM,
                "415": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/applications/{app_id}": {
        "get": {
            "summary": "One application with its decision (its owner and officers; 404 for anyone else)",
            "parameters": _ID,
            "responses": {"200": _APPLICATION, "401": _PROBLEM, "404": _PROBLEM},
        }
    },
    "/api/v1/applications/{app_id}/accept": {
        "post": {
            "summary": "A clerk accepts a submitted application; the 2-working-day deadline starts",
            "parameters": _ID,
            "responses": {"200": _APPLICATION, "403": _PROBLEM, "404": _PROBLEM, "409": _PROBLEM},
        }
    },
    "/api/v1/applications/{app_id}/withdraw": {
        "post": {
            "summary": "Withdraw an application (its owner, or a clerk)",
            "parameters": _ID,
            "responses": {"200": _APPLICATION, "403": _PROBLEM, "404": _PROBLEM, "409": _PROBLEM},
        }
    },
    "/api/v1/applications/{app_id}/credential.png": {
        "get": {
            "summary": "The issued credential as a QR code (PNG)",
            "parameters": _ID,
            "responses": {"200": {"description": "PNG", "content": {"image/png": {}}}, "404": _PROBLEM},
        }
    },
    "/api/v1/attachments": {
        "post": {
            "summary": "Upload a proof (PDF, JPEG or PNG, at most 10 MiB) before submitting; returns its id",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    }
                },
            },
            "responses": {
                "201": {"description": "Stored (re-encoded, encrypted at rest)"},
                "409": _PROBLEM,
                "413": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/attachments/{attachment_id}": {
        "get": {
            "summary": "Download a proof (its owner, its uploader or an officer; 404 for anyone else)",
            "parameters": [{"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The file"}, "404": _PROBLEM},
        }
    },
}
