"""GET /api/v1/reports/summary answers what ``govcred report --json`` prints, to
administrators only; the exports are masked spreadsheets."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.core.report_fixture import EXPECTED, EXPECTED_WINDOW, FIRST, LAST, seed
from tests.core.web.api_helpers import officer_headers


@pytest.fixture
def admin(client, runtime, clock):
    seed(runtime, clock)
    return officer_headers(client, runtime, "admin", "admin1")


def test_the_summary_is_the_report(client, admin, govcred_cli):
    import json

    r = client.get(f"/api/v1/reports/summary?from={FIRST}&to={LAST}", headers=admin)
    assert r.status_code == 200 and r.get_json() == EXPECTED
    assert r.get_json() == json.loads(govcred_cli("report", "--from", FIRST, "--to", LAST, "--json").output)
    window = client.get(f"/api/v1/reports/summary?from={FIRST}&to={LAST}&channel=window", headers=admin)
    assert window.get_json() == EXPECTED_WINDOW


def test_reviewers_and_strangers_are_refused(client, runtime, admin):
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer9")
    assert client.get(f"/api/v1/reports/summary?from={FIRST}&to={LAST}", headers=reviewer).status_code == 403
    assert client.get(f"/api/v1/reports/summary?from={FIRST}&to={LAST}").status_code == 401


def test_a_bad_period_is_named_field_by_field(client, admin):
    r = client.get("/api/v1/reports/summary?from=2026-10-40&channel=fax", headers=admin)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert {e["field"] for e in r.get_json()["errors"]} == {"from", "to", "channel"}


def test_exports_are_masked_spreadsheets(client, admin):
    csv = client.get(f"/api/v1/reports/applications.csv?from={FIRST}&to={LAST}", headers=admin)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    lines = csv.data.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("申请编号,受理渠道,状态") and len(lines) == 7
    xlsx = client.get(f"/api/v1/reports/applications.xlsx?from={FIRST}&to={LAST}", headers=admin)
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet.max_row == 7 and sheet["A1"].value == "申请编号"
    assert all("*" in (sheet.cell(row=i, column=5).value or "") for i in range(2, 8))
