"""Reports API for administrators: the period's figures (the body ``govcred report --json``
prints) and the period's applications as CSV or XLSX, masked.

Query parameters ``from`` and ``to`` (Beijing days, both included) and ``channel``; a bad
one is a 422 naming each problem.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from govcred.core.report_files import csv_bytes, xlsx_bytes
from govcred.core.services import reports
from govcred.core.web.authn import current_principal, roles_required
from govcred.core.web.context import runtime_of

bp = Blueprint("reports", __name__, url_prefix="/api/v1")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period() -> reports.ReportPeriod:
    args = request.args
    return reports.ReportPeriod.parse(args.get("from"), args.get("to"), args.get("channel") or None)


@bp.get("/reports/summary")
@roles_required("admin")
def summary():
    return jsonify(reports.summary(runtime_of().collaborators, current_principal(), _period()))


def _export(render, mimetype: str, suffix: str) -> Response:
    period = _period()
    rows = reports.export_rows(runtime_of().collaborators, current_principal(), period)
    body = render([label for _key, label in reports.EXPORT_COLUMNS], rows)
    name = f"applications-{period.first_day}-{period.last_day}.{suffix}"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/reports/applications.csv")
@roles_required("admin")
def applications_csv():
    return _export(csv_bytes, "text/csv; charset=utf-8", "csv")


@bp.get("/reports/applications.xlsx")
@roles_required("admin")
def applications_xlsx():
    return _export(xlsx_bytes, XLSX, "xlsx")


_PROBLEM = {"$ref": "#/components/responses/Problem"}
_PERIOD = [
    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
    {"name": "channel", "in": "query", "schema": {"type": "string", "enum": ["online", "window"]}},
]
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
_SUMMARY = {
    "type": "object",
    "properties": {
        "applications": _COUNTS,
        "deadlines": _COUNTS,
        "rejection_reasons": _COUNTS,
        "channels": _COUNTS,
        "working_days_to_decision": {
            "type": "object",
            "properties": {"median": {"type": ["integer", "null"]}, "p90": {"type": ["integer", "null"]}},
        },
        "ratings": {
            "type": "object",
            "properties": {"count": {"type": "integer"}, "mean": {"type": ["number", "null"]}},
        },
        "verifications": {"type": "integer"},
        "deliveries": _COUNTS,
    },
}
OPENAPI_PATHS = {
    "/api/v1/reports/summary": {
        "get": {
            "summary": "The period's figures (administrators): volumes, deadlines kept, reasons, ratings, deliveries",
            "parameters": _PERIOD,
            "responses": {
                "200": {"description": "The figures", "content": {"application/json": {"schema": _SUMMARY}}},
                "401": _PROBLEM,
                "403": _PROBLEM,
                "422": _PROBLEM,
            },
        }
    },
    "/api/v1/reports/applications.csv": {
        "get": {
            "summary": "The period's applications as CSV (UTF-8 with BOM), masked (administrators)",
            "parameters": _PERIOD,
            "responses": {"200": {"description": "CSV"}, "401": _PROBLEM, "403": _PROBLEM, "422": _PROBLEM},
        }
    },
    "/api/v1/reports/applications.xlsx": {
        "get": {
            "summary": "The period's applications as an XLSX workbook, masked (administrators)",
            "parameters": _PERIOD,
            "responses": {"200": {"description": "XLSX"}, "401": _PROBLEM, "403": _PROBLEM, "422": _PROBLEM},
        }
    },
}
