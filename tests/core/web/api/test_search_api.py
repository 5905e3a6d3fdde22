"""GET /api/v1/applications?q=: the officers' search over HTTP -- the kind detected, masked
rows with their 办件编号, keyset pages, 422 naming what is wrong, officers only."""

from __future__ import annotations

import pytest

from govcred.core.web import create_app
from tests.core.web.api_helpers import officer_headers, resident_headers, upload_proof, with_key
from tests.core.workflow_helpers import APPLICANT_ID, document, import_records
from tests.plugins.zhejiang_residence.zj_fixtures import make_id


@pytest.fixture
def client(runtime):
    return create_app(runtime=runtime).test_client()


def _submit(client, headers, phone, **kw):
    att = upload_proof(client, headers).get_json()["id"]
    doc = document([att], **kw)
    doc["applicant"]["phone"] = phone
    r = client.post("/api/v1/applications", json=doc, headers=with_key(headers))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_search_by_each_kind_over_http(client, runtime):
    import_records(runtime)
    alice = resident_headers(client, runtime, "13800138000")
    submitted = _submit(client, alice, "13800138000")
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")

    r = client.get("/api/v1/applications", query_string={"q": APPLICANT_ID}, headers=reviewer)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["query"] == {"kind": "id_number", "kind_zh": "公民身份号码"}
    assert [i["id"] for i in body["items"]] == [submitted["id"]] and body["next"] is None
    item = body["items"][0]
    assert "document" not in item and item["subject"]["id_number"] != APPLICANT_ID  # masked
    reference = item["reference"]

    by_ref = client.get(f"/api/v1/applications?q={reference.replace('-', '').lower()}", headers=reviewer).get_json()
    assert by_ref["query"]["kind"] == "reference" and [i["id"] for i in by_ref["items"]] == [submitted["id"]]
    by_phone = client.get("/api/v1/applications?q=138-0013-8000", headers=reviewer).get_json()
    assert by_phone["query"]["kind_zh"] == "手机号码" and [i["id"] for i in by_phone["items"]] == [submitted["id"]]


def test_pages_follow_next(client, runtime):
    import_records(runtime)
    alice = resident_headers(client, runtime, "13800138000")
    first = _submit(client, alice, "13800138000")
    clerk = officer_headers(client, runtime, "clerk", "clerk1")
    # another person giving the same phone (a relative's), at the window
    second = _submit(client, clerk, "13800138000", channel="window", id_number=make_id("19850512", seq="457"))
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    page1 = client.get("/api/v1/applications?q=13800138000&limit=1", headers=reviewer).get_json()
    page2 = client.get(f"/api/v1/applications?q=13800138000&limit=1&after={page1['next']}", headers=reviewer)
    page2 = page2.get_json()
    assert len(page1["items"]) == len(page2["items"]) == 1
    assert {i["id"] for i in page1["items"] + page2["items"]} == {first["id"], second["id"]}
    assert page2["next"] is None


def test_bad_queries_are_422_naming_the_problem_and_residents_are_refused(client, runtime):
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    r = client.get("/api/v1/applications?q=abc&limit=zero&after=%%%", headers=reviewer)
    assert r.status_code == 422
    problems = {e["field"]: e["code"] for e in r.get_json()["errors"]}
    assert problems == {"q": "QUERY_UNRECOGNISED", "limit": "LIMIT_INVALID", "after": "CURSOR_INVALID"}
    bad_check = APPLICANT_ID[:-1] + ("1" if APPLICANT_ID[-1] == "0" else "0")
    r = client.get(f"/api/v1/applications?q={bad_check}", headers=reviewer)
    assert r.status_code == 422 and "校验位" in r.get_json()["errors"][0]["message"]

    alice = resident_headers(client, runtime, "13800138000")
    assert client.get(f"/api/v1/applications?q={APPLICANT_ID}", headers=alice).status_code == 403
    assert client.get(f"/api/v1/applications?q={APPLICANT_ID}").status_code == 401


def test_the_search_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    ops = spec["paths"]["/api/v1/applications"]
    assert {"get", "post"} <= set(ops)
    assert any(p["name"] == "q" and p["required"] for p in ops["get"]["parameters"])
