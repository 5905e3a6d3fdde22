"""The officers' search over HTTP: ``POST /api/v1/applications/search`` (the query in the body,
the form to use) and ``GET /api/v1/applications?q=`` (kept for older clients) -- the kind
detected, masked rows with their 办件编号, keyset pages, 422 naming what is wrong, officers
only; and the server's own access log masking an ID number or a phone in a query string."""

from __future__ import annotations

import logging
import threading

import pytest
import requests
from werkzeug.serving import make_server

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

    r = client.post("/api/v1/applications/search", json={"q": APPLICANT_ID}, headers=reviewer)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["query"] == {"kind": "id_number", "kind_zh": "公民身份号码"}
    assert [i["id"] for i in body["items"]] == [submitted["id"]] and body["next"] is None
    item = body["items"][0]
    assert "document" not in item and item["subject"]["id_number"] != APPLICANT_ID  # masked
    reference = item["reference"]

    by_ref = _post(client, reviewer, q=reference.replace("-", "").lower())
    assert by_ref["query"]["kind"] == "reference" and [i["id"] for i in by_ref["items"]] == [submitted["id"]]
    by_phone = _post(client, reviewer, q="138-0013-8000")
    assert by_phone["query"]["kind_zh"] == "手机号码" and [i["id"] for i in by_phone["items"]] == [submitted["id"]]
    # the GET form answers the same, for the clients written before the POST
    old = client.get("/api/v1/applications", query_string={"q": APPLICANT_ID}, headers=reviewer)
    assert old.status_code == 200 and old.get_json() == body


def _post(client, headers, **body) -> dict:
    r = client.post("/api/v1/applications/search", json=body, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_pages_follow_next(client, runtime):
    import_records(runtime)
    alice = resident_headers(client, runtime, "13800138000")
    first = _submit(client, alice, "13800138000")
    clerk = officer_headers(client, runtime, "clerk", "clerk1")
    # another person giving the same phone (a relative's), at the window
    second = _submit(client, clerk, "13800138000", channel="window", id_number=make_id("19850512", seq="457"))
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    page1 = _post(client, reviewer, q="13800138000", limit=1)
    page2 = _post(client, reviewer, q="13800138000", limit=1, after=page1["next"])
    assert len(page1["items"]) == len(page2["items"]) == 1
    assert {i["id"] for i in page1["items"] + page2["items"]} == {first["id"], second["id"]}
    assert page2["next"] is None
    got = client.get(f"/api/v1/applications?q=13800138000&limit=1&after={page1['next']}", headers=reviewer)
    assert got.get_json()["items"] == page2["items"]  # GET pages alike


def test_bad_queries_are_422_naming_the_problem_and_residents_are_refused(client, runtime):
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    r = client.post("/api/v1/applications/search", json={"q": "abc", "limit": "10", "after": "%%%"}, headers=reviewer)
    assert r.status_code == 422
    problems = {e["field"]: e["code"] for e in r.get_json()["errors"]}
    assert problems == {"q": "QUERY_UNRECOGNISED", "limit": "LIMIT_INVALID", "after": "CURSOR_INVALID"}
    r = client.post("/api/v1/applications/search", json={"q": 13800138000, "after": 5}, headers=reviewer)
    problems = {e["field"]: e["code"] for e in r.get_json()["errors"]}
    assert r.status_code == 422 and problems == {"q": "REQUIRED", "after": "CURSOR_INVALID"}
    r = client.get("/api/v1/applications?q=abc&limit=zero&after=%%%", headers=reviewer)
    assert r.status_code == 422
    problems = {e["field"]: e["code"] for e in r.get_json()["errors"]}
    assert problems == {"q": "QUERY_UNRECOGNISED", "limit": "LIMIT_INVALID", "after": "CURSOR_INVALID"}
    bad_check = APPLICANT_ID[:-1] + ("1" if APPLICANT_ID[-1] == "0" else "0")
    r = client.post("/api/v1/applications/search", json={"q": bad_check}, headers=reviewer)
    assert r.status_code == 422 and "校验位" in r.get_json()["errors"][0]["message"]
    r = client.post("/api/v1/applications/search", data="q=1", headers=reviewer)
    assert r.status_code == 415  # a JSON body, named as such

    alice = resident_headers(client, runtime, "13800138000")
    assert client.post("/api/v1/applications/search", json={"q": APPLICANT_ID}, headers=alice).status_code == 403
    assert client.post("/api/v1/applications/search", json={"q": APPLICANT_ID}).status_code == 401
    assert client.get(f"/api/v1/applications?q={APPLICANT_ID}", headers=alice).status_code == 403
    assert client.get(f"/api/v1/applications?q={APPLICANT_ID}").status_code == 401


def test_the_access_log_masks_the_query_string_either_way(runtime, caplog):
    """Through a real HTTP server: werkzeug's access log line for a GET search names the
    address with its query string; govcred's log redaction masks the ID number and the phone
    in it however the client encoded them. The POST puts neither in the line at all."""
    app = create_app(runtime=runtime)
    reviewer = officer_headers(app.test_client(), runtime, "reviewer", "reviewer1")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    caplog.set_level(logging.INFO, logger="werkzeug")
    try:
        for raw in (f"q={APPLICANT_ID}", "q=138+0013+8000", "q=%2B86%20138-0013-8000", f"q={APPLICANT_ID.lower()}"):
            assert requests.get(f"{base}/api/v1/applications?{raw}", headers=reviewer, timeout=10).status_code == 200
        posted = requests.post(
            f"{base}/api/v1/applications/search", json={"q": APPLICANT_ID}, headers=reviewer, timeout=10
        )
        assert posted.status_code == 200
    finally:
        server.shutdown()
        thread.join(5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    searches = [line for line in lines if "/api/v1/applications" in line]
    assert len(searches) == 5, lines
    text = "\n".join(lines)
    assert APPLICANT_ID not in text.upper() and "13800138000" not in text
    masked_id = APPLICANT_ID[:4] + "**********" + APPLICANT_ID[-4:]
    assert sum(masked_id in line.upper() for line in searches) == 2
    assert sum("138****8000" in line for line in searches) == 2
    assert any("POST /api/v1/applications/search " in line for line in searches)


def test_the_search_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    search = spec["paths"]["/api/v1/applications/search"]["post"]
    schema = search["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["q"] and {"q", "limit", "after"} == set(schema["properties"])
    ops = spec["paths"]["/api/v1/applications"]
    assert {"get", "post"} <= set(ops)
    assert ops["get"]["deprecated"] is True and "POST /api/v1/applications/search" in ops["get"]["summary"]
    assert any(p["name"] == "q" and p["required"] for p in ops["get"]["parameters"])
