"""Officer sign-in through the API (issue 11): TOTP for every role that decides, the page's
throttles, tokens that idle out, and the recent factor the deciding use cases ask for."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.orm import credentials, decisions
from govcred.core.web import create_app
from tests.core.web.api_helpers import resident_headers, upload_proof, with_key
from tests.core.web.pages.pagekit import PASSWORD, add_officer, totp_code
from tests.core.workflow_helpers import document, import_records


@pytest.fixture
def app(runtime):
    return create_app(runtime=runtime)


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, rt, username, seed, **extra):
    body = {"username": username, "password": PASSWORD, **extra}
    if seed is not None:
        body["totp"] = totp_code(seed, rt)
    return client.post("/api/v1/auth/token", json=body)


def bearer(response) -> dict[str, str]:
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def submitted(client, rt) -> dict:
    import_records(rt)
    alice = resident_headers(client, rt, "13800138000")
    att = upload_proof(client, alice).get_json()["id"]
    r = client.post("/api/v1/applications", json=document([att]), headers=with_key(alice))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def count(rt, table) -> int:
    with rt.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_a_reviewer_without_a_totp_code_obtains_no_token(client, runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    refused = sign_in(client, runtime, "rev1", None)
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "TOTP_INVALID"
    wrong = sign_in(client, runtime, "rev1", None, totp="123456")
    assert wrong.status_code == 401
    ok = sign_in(client, runtime, "rev1", seed).get_json()
    assert ok["role"] == "reviewer" and ok["factor_valid_until"] == "2026-11-30T02:10:00+00:00"


def test_forty_wrong_passwords_then_the_right_one_is_429_with_retry_after(client, runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    statuses = [
        client.post("/api/v1/auth/token", json={"username": "rev1", "password": f"wrong {i:04d} password"}).status_code
        for i in range(40)
    ]
    assert statuses == [401] * 10 + [429] * 30
    right = sign_in(client, runtime, "rev1", seed)
    assert right.status_code == 429 and right.get_json()["code"] == "LOGIN_THROTTLED"
    assert right.headers["Retry-After"] == "900"


def test_a_decision_without_a_factor_in_the_last_ten_minutes_is_401(client, runtime, clock):
    app = submitted(client, runtime)
    seed = add_officer(runtime, "rev1", "reviewer")
    reviewer = bearer(sign_in(client, runtime, "rev1", seed))
    url = f"/api/v1/applications/{app['id']}/decision"
    clock.advance(minutes=5)
    assert client.get("/api/v1/review/queue", headers=reviewer).status_code == 200  # reading needs no factor
    clock.advance(minutes=5, seconds=1)
    stale = client.post(url, json={"approve": True}, headers=with_key(reviewer))
    assert stale.status_code == 401 and stale.mimetype == "application/problem+json"
    assert stale.get_json()["code"] == "RECENT_FACTOR_REQUIRED"
    assert count(runtime, decisions) == count(runtime, credentials) == 0
    # the TOTP code again refreshes the token's factor; the decision then goes through
    bad = client.post("/api/v1/auth/token/factor", json={"totp": "000000"}, headers=reviewer)
    assert bad.status_code == 401 and bad.get_json()["code"] == "TOTP_INVALID"
    fresh = client.post("/api/v1/auth/token/factor", json={"totp": totp_code(seed, runtime)}, headers=reviewer)
    assert fresh.status_code == 200 and fresh.get_json()["factor_valid_until"] == "2026-11-30T02:20:01+00:00"
    done = client.post(url, json={"approve": True}, headers=with_key(reviewer))
    assert done.status_code == 200, done.get_json()
    assert count(runtime, credentials) == 1


def test_status_change_cancellation_and_key_rotation_ask_for_the_factor_too(client, runtime, clock):
    app = submitted(client, runtime)
    seed = add_officer(runtime, "admin1", "admin")
    admin = bearer(sign_in(client, runtime, "admin1", seed))
    decided = client.post(f"/api/v1/applications/{app['id']}/decision", json={"approve": True}, headers=with_key(admin))
    credential = decided.get_json()["credential"]
    clock.advance(minutes=11)
    calls = [
        (f"/api/v1/credentials/{credential['id']}/status", {"status": "suspended", "reason": "核查居住地址"}),
        (f"/api/v1/permits/{credential['permit_no']}/cancellation", {"reason": "left_county"}),
        ("/api/v1/keys/rotation", None),
    ]
    for url, body in calls:
        r = client.post(url, json=body, headers=with_key(admin)) if body else client.post(url, headers=admin)
        assert (r.status_code, r.get_json()["code"]) == (401, "RECENT_FACTOR_REQUIRED"), url
    refreshed = client.post("/api/v1/auth/token/factor", json={"totp": totp_code(seed, runtime)}, headers=admin)
    assert refreshed.status_code == 200
    rotated = client.post("/api/v1/keys/rotation", headers=admin)
    assert rotated.status_code == 201 and rotated.get_json()["kid"] != runtime.keystore.list()[0].kid


def test_only_admins_rotate_keys(client, runtime):
    seed = add_officer(runtime, "rev1", "reviewer")
    reviewer = bearer(sign_in(client, runtime, "rev1", seed))
    assert client.post("/api/v1/keys/rotation", headers=reviewer).status_code == 403


def test_an_idle_token_is_refused_and_its_lifetime_is_absolute(client, runtime, clock):
    seed = add_officer(runtime, "rev1", "reviewer")
    reviewer = bearer(sign_in(client, runtime, "rev1", seed))
    clock.advance(minutes=15, seconds=1)
    idle = client.get("/api/v1/review/queue", headers=reviewer)
    assert idle.status_code == 401 and idle.get_json()["code"] == "TOKEN_IDLE"


def test_a_page_session_has_no_token_to_refresh(client, runtime):
    from tests.core.web.pages.pagekit import csrf_of, officer_login

    seed = add_officer(runtime, "rev1", "reviewer")
    assert officer_login(client, runtime, "rev1", seed).status_code == 302
    token = csrf_of(client.get("/officer/").data)
    r = client.post("/api/v1/auth/token/factor", json={"totp": "123456"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 401 and r.get_json()["code"] == "TOKEN_REQUIRED"
