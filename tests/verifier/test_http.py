"""The verifier service over HTTP: API keys, rate limits, the exact answer schema, no personal
data anywhere, every token attack, and the holder's list of who verified the credential."""

from __future__ import annotations

import io
import logging
import re

import pytest
import sqlalchemy as sa

from govcred.core.qr import render_png
from govcred.verifier.db import add_client, credential_hash, verification_log
from tests.core.credential_rows import CANARY_ADDRESS, CANARY_ID, make_credential
from tests.verifier.attacks import attack_tokens
from tests.verifier.issuers import verifier_app

ANSWER_KEYS = {"valid", "reasons", "kind", "assurance", "holder", "county", "benefit", "checked_at"}
FULL_ID = re.compile(r"\d{17}[\dXx]")


@pytest.fixture
def service(sqlite_runtime, tmp_path):
    rt = sqlite_runtime
    cred = make_credential(rt)
    app = verifier_app(rt, tmp_path)
    engine = app.extensions["verifier"].engine
    key = add_client(engine, "青田县实验小学", now=rt.clock.now())
    return rt, cred, app, app.test_client(), {"Authorization": f"Bearer {key}"}


def test_valid_credential_answer_has_exactly_the_documented_keys(service):
    rt, cred, app, client, auth = service
    response = client.post(
        "/api/v1/verify", json={"token": cred.token, "benefit": "compulsory_education"}, headers=auth
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == ANSWER_KEYS and body["valid"] is True and body["kind"] == "credential"
    assert set(body["holder"]) == {"name_masked", "id_masked"} and set(body["benefit"]) == {"code", "qualifies"}
    assert response.headers["Cache-Control"] == "no-store"


def test_image_upload_and_qr_text(service):
    from io import BytesIO

    from govcred.core.qr import payload_text

    rt, cred, app, client, auth = service
    response = client.post(
        "/api/v1/verify",
        data={"image": (BytesIO(render_png(cred.token)), "qr.png"), "benefit": "public_employment"},
        headers=auth,
    )
    assert response.get_json()["valid"] is True
    assert client.post("/api/v1/verify", json={"qr": payload_text(cred.token)}, headers=auth).get_json()["valid"]


def test_static_qr_and_live_presentation_say_what_they_prove(service):
    from govcred.core.presentation import issue_presentation

    rt, cred, app, client, auth = service
    static = client.post("/api/v1/verify", json={"token": cred.token}, headers=auth).get_json()
    assert (static["valid"], static["kind"], static["assurance"]) == (True, "credential", "static")
    live = client.post("/api/v1/verify", json={"token": issue_presentation(rt.collaborators, cred)}, headers=auth)
    assert (live.get_json()["kind"], live.get_json()["assurance"]) == ("presentation", "live")
    garbage = client.post("/api/v1/verify", json={"token": "garbage"}, headers=auth).get_json()
    assert (garbage["valid"], garbage["assurance"]) == (False, None)


def test_a_photo_without_a_qr_is_the_operators_mistake_not_an_answer(service):
    from io import BytesIO

    from PIL import Image

    rt, cred, app, client, auth = service
    blank = BytesIO()
    Image.new("RGB", (300, 200), "white").save(blank, "PNG")
    for data, code, words in (
        (blank.getvalue(), "QR_NOT_FOUND", "没有找到二维码"),
        (b"\x89PNG not", "IMAGE_INVALID", "无法读取"),
    ):
        response = client.post("/api/v1/verify", data={"image": (BytesIO(data), "photo.png")}, headers=auth)
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == code and words in response.get_json()["title"]


def test_api_key_is_required(service):
    rt, cred, app, client, auth = service
    assert client.post("/api/v1/verify", json={"token": cred.token}).status_code == 401
    bad = {"Authorization": auth["Authorization"][:-4] + "AAAA"}
    assert client.post("/api/v1/verify", json={"token": cred.token}, headers=bad).status_code == 401
    assert (
        client.post("/api/v1/verify", json={"token": cred.token}, headers={"Authorization": "Bearer x"}).status_code
        == 401
    )


@pytest.mark.parametrize("odd", ["é", "\u00ff" * 3, "A" * 10_000])
def test_a_key_no_institution_could_hold_is_refused_not_a_500(service, odd):
    """A key with a non-ASCII character ended in a 500 (the hash took ASCII only): found by
    fuzzing the API with hypothesis."""
    rt, cred, app, client, auth = service
    for key in (auth["Authorization"] + odd, f"Bearer gcv_{odd}_{odd}"):
        refused = client.post("/api/v1/verify", json={"token": cred.token}, headers={"Authorization": key})
        assert refused.status_code == 401 and refused.get_json()["code"] == "API_KEY_INVALID"
        also = client.post("/scan/decode", headers={"X-Api-Key": key[7:]})
        assert also.status_code == 401


def test_rate_limit_per_institution(service):
    rt, cred, app, client, auth = service
    engine = app.extensions["verifier"].engine
    tight = {"Authorization": "Bearer " + add_client(engine, "青田县人民医院", now=rt.clock.now(), rate_per_minute=3)}
    codes = [client.post("/api/v1/verify", json={"token": cred.token}, headers=tight).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.post("/api/v1/verify", json={"token": cred.token}, headers=tight)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert (
        client.post("/api/v1/verify", json={"token": cred.token}, headers=auth).status_code == 200
    )  # others unaffected
    rt.clock.advance(seconds=60)
    assert client.post("/api/v1/verify", json={"token": cred.token}, headers=tight).status_code == 200


def test_bad_requests_name_every_problem(service):
    rt, cred, app, client, auth = service
    response = client.post(
        "/api/v1/verify", json={"token": cred.token, "qr": "x", "benefit": "X!", "id_number": 1}, headers=auth
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"qr", "benefit", "id_number"}


def test_nothing_to_verify_is_named_as_missing_not_as_two_inputs(service):
    _, _, _, client, auth = service
    errors = client.post("/api/v1/verify", json={}, headers=auth).get_json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("qr", "REQUIRED")]
    assert "请提供" in errors[0]["message"] and "只提供" not in errors[0]["message"]


def test_a_benefit_code_no_plugin_knows_is_refused_naming_the_codes_there_are(service):
    """A misspelt code answered qualifies: false, as if the holder did not qualify."""
    _, cred, _, client, auth = service
    refused = client.post("/api/v1/verify", json={"token": cred.token, "benefit": "compulsory_educaton"}, headers=auth)
    assert refused.status_code == 422
    (error,) = refused.get_json()["errors"]
    assert (error["field"], error["code"]) == ("benefit", "UNKNOWN_BENEFIT")
    assert "compulsory_educaton" in error["message"] and "compulsory_education（" in error["message"]
    known = client.post("/api/v1/verify", json={"token": cred.token, "benefit": "compulsory_education"}, headers=auth)
    assert known.get_json()["benefit"] == {"code": "compulsory_education", "qualifies": True}


def test_an_image_over_the_limit_is_named_in_chinese_with_the_limit(service):
    _, _, _, client, headers = service
    r = client.post(
        "/api/v1/verify",
        headers=headers,
        data={"image": (io.BytesIO(b"\x89PNG" + b"0" * (5 * 1024 * 1024)), "photo.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 413 and r.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    assert r.get_json()["title"] == "提交的内容过大：一次最多 5 MB，请压缩或裁剪后重试"
    assert client.get("/no-such-page").get_json()["title"] == "找不到该网址，请检查输入是否正确"


def test_a_deeply_nested_body_is_a_400_naming_the_depth(service):
    rt, cred, app, client, auth = service
    body = '{"token":' + "[" * 50_000 + "]" * 50_000 + "}"
    response = client.post("/api/v1/verify", data=body, content_type="application/json", headers=auth)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "JSON_TOO_DEEP"
    assert "嵌套层数过多" in response.get_json()["title"]


def test_no_full_id_number_or_address_leaves_the_verifier(service, caplog):
    rt, cred, app, client, auth = service
    caplog.set_level(logging.DEBUG)
    bodies = []
    for benefit in (None, "compulsory_education", "legal_aid"):
        payload = {"token": cred.token} if benefit is None else {"token": cred.token, "benefit": benefit}
        bodies.append(client.post("/api/v1/verify", json=payload, headers=auth).get_data(as_text=True))
    bodies.append(client.post("/api/v1/verify", json={"token": "garbage"}, headers=auth).get_data(as_text=True))
    app.extensions["verifier_requests"].flush()
    with app.extensions["verifier"].engine.connect() as conn:
        rows = [" ".join(map(str, r)) for r in conn.execute(sa.select(verification_log))]
    assert len(rows) == 4
    for text in bodies + rows + [caplog.text]:
        assert not FULL_ID.search(text) and CANARY_ID not in text and CANARY_ADDRESS not in text
        assert "江滨路" not in text and "张三明" not in text
    assert any(credential_hash(cred.id) in r for r in rows)


def test_every_token_attack_is_refused_through_http(service):
    rt, cred, app, client, auth = service
    now = int(rt.clock.now().timestamp())
    attacks = attack_tokens(rt.keystore.active_key(), cred.claims, now)
    assert len(attacks) >= 25
    wrong = []
    for name, token, reason in attacks:
        response = client.post("/api/v1/verify", json={"token": token}, headers=auth)
        body = response.get_json()
        if (
            response.status_code != 200
            or set(body) != ANSWER_KEYS
            or (body["valid"], body["reasons"]) != (False, [reason])
        ):
            wrong.append((name, response.status_code, body))
    assert wrong == []


def test_holder_sees_which_institutions_verified_the_credential(service):
    from govcred.core.claims import LOG_AUDIENCE
    from govcred.core.presentation import issue_presentation

    rt, cred, app, client, auth = service
    engine = app.extensions["verifier"].engine
    hospital = {"Authorization": "Bearer " + add_client(engine, "青田县人民医院", now=rt.clock.now())}
    client.post("/api/v1/verify", json={"token": cred.token}, headers=auth)
    rt.clock.advance(seconds=5)
    client.post("/api/v1/verify", json={"token": issue_presentation(rt.collaborators, cred)}, headers=hospital)
    other = make_credential(rt)
    client.post("/api/v1/verify", json={"token": other.token}, headers=hospital)

    proof = issue_presentation(rt.collaborators, cred, audience=LOG_AUDIENCE)
    listed = client.get("/api/v1/verifications", headers={"Authorization": f"Presentation {proof}"}).get_json()
    assert [(v["institution"], v["valid"]) for v in listed["verifications"]] == [
        ("青田县人民医院", True),
        ("青田县实验小学", True),
    ]
    # a presentation for verifying, or of another credential, does not open this credential's log
    assert (
        client.get(
            "/api/v1/verifications",
            headers={"Authorization": f"Presentation {issue_presentation(rt.collaborators, cred)}"},
        ).status_code
        == 401
    )
    assert client.get("/api/v1/verifications", headers={"Authorization": f"Bearer {auth}"}).status_code == 401


def test_no_verification_is_answered_while_the_log_cannot_keep_its_rows(service):
    # a database that takes no rows for a long while (a full disk): the rows wait in memory up
    # to a bound, then verifications are refused until they are written -- none answered unlogged
    _rt, cred, app, client, headers = service
    recorder = app.extensions["verifier_requests"]  # not started here: nothing is written until flush()
    recorder.MAX_PENDING_ROWS = 2
    answers = [client.post("/api/v1/verify", json={"token": cred.token}, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 507]
    assert answers[2].get_json()["code"] == "STORAGE_FULL" and "存储空间已满" in answers[2].get_json()["title"]
    recorder.flush()
    assert client.post("/api/v1/verify", json={"token": cred.token}, headers=headers).status_code == 200
    engine = app.extensions["verifier"].engine
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(verification_log)).scalar() == 2


def test_every_answer_carries_the_security_headers_once(service):
    _rt, cred, _app, client, headers = service
    from govcred.core.web.security import SECURITY_HEADERS

    answers = {
        "verify": client.post("/api/v1/verify", json={"token": cred.token}, headers=headers),
        "no key": client.post("/api/v1/verify", json={"token": cred.token}),
        "unknown path": client.get("/api/v1/nothing-here"),
        "page": client.get("/"),
    }
    for what, answer in answers.items():
        for name, value in SECURITY_HEADERS:
            assert answer.headers.getlist(name) == [value], (what, name)
        assert len(answer.headers.getlist("X-Request-Id")) == 1, what
    for what in ("verify", "no key", "unknown path"):  # JSON answers are never cached
        assert answers[what].headers.getlist("Cache-Control") == ["no-store"], what
    assert answers["no key"].headers["WWW-Authenticate"].startswith("Bearer")
