"""CSRF on the pages, request by request (security checklist W-04): which origins and fetch
metadata are refused (403) before the token is looked at, and where a token is read from (400
when it is missing or belongs to another browser). A POST that gets past both reaches the
log-in form, which answers a wrong password with 401."""

from __future__ import annotations

import pytest

from govcred.core.web import create_app
from tests.core.web.pages.pagekit import csrf_of, https_client

REFUSED_CROSS_SITE, REFUSED_TOKEN, PASSED = 403, 400, 401


@pytest.fixture
def client(sqlite_runtime):
    return https_client(create_app(runtime=sqlite_runtime))


def _post(client, *, token: str | None = "page", headers=None, as_header: bool = False, **kwargs):
    page = client.get("/officer/login")
    token = csrf_of(page.data) if token == "page" else token
    data = {"username": "nobody", "password": "wrong"}
    # "OWN" stands for this site's origin as the test client reaches it (scheme://host)
    own = page.request.host_url.rstrip("/")
    other_scheme = ("https" if own.startswith("http:") else "http") + own[own.index(":") :]
    headers = {k: v.replace("OWN", own).replace("OTHER_SCHEME", other_scheme) for k, v in (headers or {}).items()}
    if token is not None:
        if as_header:
            headers["X-CSRF-Token"] = token
        else:
            data["csrf_token"] = token
    return client.post("/officer/login", data=data, headers=headers, **kwargs).status_code


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({}, PASSED),  # a non-browser client: no Origin, no fetch metadata; the token decides
        ({"Origin": "OWN", "Sec-Fetch-Site": "same-origin"}, PASSED),
        ({"Origin": "OWN"}, PASSED),
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, PASSED),  # our own form under no-referrer
        ({"Origin": "null"}, REFUSED_CROSS_SITE),  # a sandboxed frame somewhere else
        ({"Sec-Fetch-Site": "cross-site"}, REFUSED_CROSS_SITE),
        ({"Sec-Fetch-Site": "Cross-Site"}, REFUSED_CROSS_SITE),
        ({"Sec-Fetch-Site": "same-site"}, REFUSED_CROSS_SITE),  # a sibling subdomain is not this site
        ({"Origin": "https://evil.example"}, REFUSED_CROSS_SITE),
        ({"Origin": "OTHER_SCHEME"}, REFUSED_CROSS_SITE),  # same host, another scheme
        ({"Origin": "OWN:8443"}, REFUSED_CROSS_SITE),  # same host, another port
    ],
)
def test_origin_and_fetch_metadata(client, headers, expected):
    assert _post(client, headers=headers) == expected


def test_the_token_may_come_in_the_header(client):
    assert _post(client, as_header=True) == PASSED


def test_a_multipart_form_carries_the_token_too(client):
    assert _post(client, content_type="multipart/form-data") == PASSED


def test_a_token_in_a_json_body_is_not_read(client):
    token = csrf_of(client.get("/officer/login").data)
    response = client.post("/officer/login", json={"csrf_token": token, "username": "nobody", "password": "x"})
    assert response.status_code == REFUSED_TOKEN


@pytest.mark.parametrize("token", [None, "", "0" * 64, "\x80", "令牌" * 32])
def test_missing_empty_or_forged_token(client, token):
    """Non-ASCII tokens included: they ended in a 500 (found by fuzzing the page forms)."""
    assert _post(client, token=token) == REFUSED_TOKEN


def test_another_browsers_token_is_refused(sqlite_runtime, client):
    other = https_client(create_app(runtime=sqlite_runtime))
    theirs = csrf_of(other.get("/officer/login").data)
    assert _post(client, token=theirs) == REFUSED_TOKEN
    assert _post(other, token=theirs) == PASSED


def test_the_token_is_an_hmac_of_the_browser_binding(sqlite_runtime, client):
    """The documented construction, HMAC-SHA256(session key, "csrf|" + binding), so that tokens
    survive a restart and a second server behind the same proxy agrees on them."""
    import hashlib
    import hmac

    token = csrf_of(client.get("/officer/login").data)
    anon = client.get_cookie("__Host-csrf").value
    key = sqlite_runtime.secrets.session_key
    assert token == hmac.new(key, f"csrf|a|{anon}".encode(), hashlib.sha256).hexdigest()


def test_a_post_to_an_address_that_takes_none_is_405_or_404_not_page_expired(client):
    """POST /healthz answered 400 '页面已过期' (the CSRF check ran before routing)."""
    assert client.post("/healthz").status_code == 405
    assert client.post("/resident/no-such-page").status_code == 404
