"""Idempotency-Key on the issuer's API: what the fingerprint of a request body must survive."""

from __future__ import annotations

from govcred.core.web.jsonbody import MAX_JSON_DEPTH
from tests.core.web.api_helpers import resident_headers, with_key


def test_a_body_nested_past_the_parser_is_a_400_on_an_idempotent_route(client, runtime):
    # the fingerprint reads the body before the view does: a nesting the JSON parser gives
    # up on (RecursionError) must reach the view's 400, not end in a 500
    alice = resident_headers(client, runtime, "13800138000")
    deep = "[" * 50_000 + "]" * 50_000
    response = client.post("/api/v1/applications", data=deep, content_type="application/json", headers=with_key(alice))
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "JSON_TOO_DEEP"
    assert body["title"] == f"JSON 嵌套层数过多：最多 {MAX_JSON_DEPTH} 层"
