"""The issuer app: JWKS, bearer tokens, problem+json errors, OpenAPI, headers, route policies."""

from __future__ import annotations

import pytest

from govcred.core.keys import KeySet
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import PASSWORD, add_officer, totp_code


@pytest.fixture
def seed(runtime):
    return add_officer(runtime, "reviewer1", "reviewer")


@pytest.fixture
def app(runtime, seed):
    return create_app(runtime=runtime)


@pytest.fixture
def client(app):
    return app.test_client()


def test_jwks_serves_the_es256_key(client, runtime):
    body = client.get("/.well-known/jwks.json").get_json()
    (key,) = body["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256"
    assert key["kid"] == runtime.keystore.active_key().kid
    assert "d" not in key
    # govcred's own kids are its keys' short thumbprints (the check other issuers are spared)
    assert key["kid"] in KeySet.from_jwks(body, runtime.settings.issuer, thumbprint_kids=True)


def test_token_for_good_credentials_and_problem_for_bad(client, runtime, seed):
    ok = client.post(
        "/api/v1/auth/token", json={"username": "reviewer1", "password": PASSWORD, "totp": totp_code(seed, runtime)}
    )
    assert ok.status_code == 200 and ok.get_json()["role"] == "reviewer"
    bad = client.post("/api/v1/auth/token", json={"username": "reviewer1", "password": "wrong password"})
    assert bad.status_code == 401
    assert bad.mimetype == "application/problem+json" and bad.get_json()["code"] == "LOGIN_FAILED"
    missing = client.post("/api/v1/auth/token", json={})
    assert missing.status_code == 422
    assert {e["field"] for e in missing.get_json()["errors"]} == {"username", "password"}
    wrong_type = client.post("/api/v1/auth/token", data="username=x", content_type="application/x-www-form-urlencoded")
    assert wrong_type.status_code == 415


def test_revoked_token_stops_working(client, runtime, seed):
    body = {"username": "reviewer1", "password": PASSWORD, "totp": totp_code(seed, runtime)}
    token = client.post("/api/v1/auth/token", json=body).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    again = client.delete("/api/v1/auth/token", headers=headers)
    assert again.status_code == 401 and again.get_json()["code"] == "TOKEN_INVALID"


def test_failed_login_is_audited(client, runtime):
    import sqlalchemy as sa

    from govcred.core.orm import audit_log

    client.post("/api/v1/auth/token", json={"username": "reviewer1", "password": "wrong password"})
    with runtime.engine.connect() as conn:
        outcomes = (
            conn.execute(sa.select(audit_log.c.outcome).where(audit_log.c.action == "auth.token")).scalars().all()
        )
    assert "failure" in outcomes


def test_unknown_route_is_a_problem_document(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["code"] == "NOT_FOUND"


def test_http_errors_are_named_in_chinese_not_werkzeugs_english(client):
    """An unknown address, a wrong method and a body over the limit: each title says what is
    wrong in Chinese (werkzeug's own texts are English), the limit included."""
    unknown = client.get("/api/v1/nothing-here").get_json()
    assert unknown["title"] == "找不到该网址，请检查输入是否正确"
    wrong_method = client.delete("/.well-known/jwks.json")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["title"] == "该网址不支持此请求方法"
    too_large = client.post("/api/v1/auth/token", data=b"x" * (11 * 1024 * 1024 + 1), content_type="application/json")
    assert too_large.status_code == 413 and too_large.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    assert too_large.get_json()["title"] == "提交的内容过大：一次最多 11 MB，请压缩或裁剪后重试"
    for body in (unknown, wrong_method.get_json(), too_large.get_json()):
        assert not any("a" <= ch.lower() <= "z" for ch in body["title"].replace("MB", "")), body


def test_security_headers_on_responses(client):
    for path in ("/.well-known/jwks.json", "/api/v1/openapi.json", "/api/v1/nothing-here"):
        h = client.get(path).headers
        assert (
            "default-src 'self'" in h["Content-Security-Policy"]
            and "frame-ancestors 'none'" in h["Content-Security-Policy"]
        )
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "no-referrer"
        assert h["X-Request-Id"]


def test_openapi_describes_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    described = set(doc["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule.replace("<", "{").replace(">", "}")
            path = __import__("re").sub(r"\{[^:}]+:", "{", path)
            assert path in described, f"{rule.rule} is not in the OpenAPI document"
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in doc["paths"][path], f"{method} {rule.rule} is not described"


def test_every_api_view_declares_who_may_call_it(app):
    """Deny by default: an /api/v1 view without a declared policy fails this test."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "govcred_roles"), f"{rule.endpoint} has no access policy"


def test_a_browser_asking_for_a_page_that_is_not_there_gets_the_error_page(client):
    """A mistyped or stale address in the browser answered a JSON document; the API keeps it."""
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    page = client.get("/resident/no-such-page", headers=browser)
    assert page.status_code == 404 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "未找到" in text and "找不到该网址，请检查输入是否正确" in text and "返回首页" in text
    api = client.get("/api/v1/nothing-here", headers=browser)
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    tool = client.get("/resident/no-such-page", headers={"Accept": "*/*"})
    assert tool.status_code == 404 and tool.mimetype == "application/problem+json"
