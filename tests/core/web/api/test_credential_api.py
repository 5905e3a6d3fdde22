"""Officer credential API and the holder API, through the issuer app with real bearer tokens."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from govcred.core.accounts.officers import create_officer, issue_api_token, issue_resident_token
from govcred.core.qr import decode_image
from govcred.core.web import create_app
from tests.core.credential_rows import make_credential

PASSWORD = "a long enough passphrase 42"


def _officer_token(rt, role):
    with rt.uow() as uow:
        officer = create_officer(
            uow, username=f"{role}-user", display_name=role, role=role, password=PASSWORD, now=rt.clock.now()
        )
        token, _ = issue_api_token(uow, officer, rt.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {token}"}


def _resident_token(rt, credential):
    with rt.uow() as uow:
        resident = uow.session.get(
            __import__("govcred.core.models", fromlist=["Resident"]).Resident, credential.owner_id
        )
        token, _ = issue_resident_token(uow, resident, rt.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def issuer(sqlite_runtime):
    rt = sqlite_runtime
    return rt, create_app(rt).test_client()


def test_officers_see_a_credential_and_its_qr(issuer):
    rt, client = issuer
    cred = make_credential(rt)
    clerk = _officer_token(rt, "clerk")
    body = client.get(f"/api/v1/credentials/{cred.id}", headers=clerk).get_json()
    assert (body["id"], body["status"], body["name_masked"], body["id_masked"]) == (
        cred.id,
        "valid",
        "张*明",
        "1101**********1237",
    )
    assert "token" not in body
    png = client.get(f"/api/v1/credentials/{cred.id}/qr.png", headers=clerk)
    assert png.mimetype == "image/png" and decode_image(png.data) == cred.token
    assert client.get(f"/api/v1/credentials/{cred.id}").status_code == 401
    assert client.get(f"/api/v1/credentials/{cred.id}", headers=_resident_token(rt, cred)).status_code == 403
    assert client.get("/api/v1/credentials/nope", headers=clerk).status_code == 404


def test_reviewers_change_status_and_clerks_may_not(issuer):
    rt, client = issuer
    cred = make_credential(rt)
    reviewer, clerk = _officer_token(rt, "reviewer"), _officer_token(rt, "clerk")
    url = f"/api/v1/credentials/{cred.id}/status"
    assert client.post(url, json={"status": "revoked", "reason": "吊销"}, headers=clerk).status_code == 403
    bad = client.post(url, json={"status": "gone", "reason": ""}, headers=reviewer)
    assert bad.status_code == 422 and {e["field"] for e in bad.get_json()["errors"]} == {"status", "reason"}
    done = client.post(url, json={"status": "suspended", "reason": "居住地变更待核实"}, headers=reviewer)
    assert done.status_code == 200 and done.get_json()["status"] == "suspended"
    assert client.post(url, json={"status": "revoked", "reason": "吊销"}, headers=reviewer).status_code == 200
    final = client.post(url, json={"status": "valid", "reason": "恢复"}, headers=reviewer)
    assert final.status_code == 409 and final.get_json()["code"] == "STATUS_TRANSITION_INVALID"


def test_holder_lists_own_credentials_and_gets_presentations(issuer):
    from govcred.core.keys import KeySet
    from govcred.core.tokens import PRESENTATION, verify_token

    rt, client = issuer
    mine, theirs = make_credential(rt), make_credential(rt)
    me = _resident_token(rt, mine)
    listed = client.get("/api/v1/holder/credentials", headers=me).get_json()["credentials"]
    assert [c["id"] for c in listed] == [mine.id]
    response = client.post(f"/api/v1/holder/credentials/{mine.id}/presentation", headers=me)
    body = response.get_json()
    assert body["qr"].startswith("GC2:/") and body["expires_in"] == rt.settings.presentation_seconds
    claims = verify_token(
        body["token"], PRESENTATION, KeySet.from_jwks(rt.keystore.jwks(), rt.settings.issuer), clock=rt.clock
    ).claims
    assert claims["cid"] == mine.id and claims["jti"] != mine.id
    assert claims["exp"] - claims["iat"] == rt.settings.presentation_seconds
    assert claims["status"] == mine.claims["status"] and "rs" not in claims
    assert client.post(f"/api/v1/holder/credentials/{theirs.id}/presentation", headers=me).status_code == 404
    assert client.get(f"/api/v1/holder/credentials/{theirs.id}/verifications", headers=me).status_code == 404
    assert client.get("/api/v1/holder/credentials", headers=_officer_token(rt, "admin")).status_code == 403
    assert client.get("/api/v1/holder/credentials").status_code == 401


def test_holder_verification_list_comes_from_a_running_verifier(sqlite_runtime, tmp_path):
    from govcred.verifier.app import create_app as create_verifier
    from govcred.verifier.db import add_client
    from tests.verifier.issuers import publish, trust_of

    rt = sqlite_runtime
    cred = make_credential(rt)
    verifier = create_verifier(
        {
            "trust": trust_of(publish(rt, tmp_path / "trust")),
            "data_dir": tmp_path / "v",
            "clock": rt.clock,
            "background_refresh": False,
        }
    )
    key = add_client(verifier.extensions["verifier"].engine, "青田县实验小学", now=rt.clock.now())
    server = make_server("127.0.0.1", 0, verifier, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        verifier.test_client().post(
            "/api/v1/verify", json={"token": cred.token}, headers={"Authorization": f"Bearer {key}"}
        )
        app = create_app(
            rt, test_config={"VERIFIER_URLS": [f"http://127.0.0.1:{server.server_port}", "http://127.0.0.1:9"]}
        )
        body = (
            app.test_client()
            .get(f"/api/v1/holder/credentials/{cred.id}/verifications", headers=_resident_token(rt, cred))
            .get_json()
        )
    finally:
        server.shutdown()
        thread.join()
    assert [(v["institution"], v["valid"]) for v in body["verifications"]] == [("青田县实验小学", True)]
    assert body["unavailable"] == ["http://127.0.0.1:9"]
