"""Request bodies on the issuer's API: a body nested past the bound is a 400 naming the problem."""

from __future__ import annotations

import pytest

from govcred.core.web.jsonbody import MAX_JSON_DEPTH


def nested(depth: int) -> str:
    return '{"phone":' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize("depth", [50_000, MAX_JSON_DEPTH])
def test_a_deeply_nested_body_is_a_400_naming_the_depth(client, depth):
    response = client.post("/api/v1/auth/sms-code", data=nested(depth), content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "JSON_TOO_DEEP"
    assert body["title"] == f"JSON 嵌套层数过多：最多 {MAX_JSON_DEPTH} 层"


def test_a_body_at_the_bound_is_read(client):
    response = client.post("/api/v1/auth/sms-code", data=nested(MAX_JSON_DEPTH - 1), content_type="application/json")
    # read as JSON: the phone number is what is wrong with it
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "phone"
