"""The applications API end to end (SQLite and PostgreSQL): SMS sign-in, upload, submit,
acceptance, approval with a verifiable credential, rejection with every reason, scoping."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.keys import KeySet
from govcred.core.orm import applications, outbox
from govcred.core.tokens import CREDENTIAL, verify_token
from govcred.core.web import create_app
from tests.core.web.api_helpers import officer_headers, resident_headers, upload_proof, with_key
from tests.core.workflow_helpers import document, import_records
from tests.plugins.zhejiang_residence.zj_fixtures import make_id


@pytest.fixture
def client(runtime):
    return create_app(runtime=runtime).test_client()


def _submit(client, headers, doc):
    return client.post("/api/v1/applications", json=doc, headers=with_key(headers))


def test_resident_journey_to_a_verifiable_credential(client, runtime):
    import_records(runtime)
    alice = resident_headers(client, runtime, "13800138000")
    proof = upload_proof(client, alice)
    assert proof.status_code == 201 and proof.get_json()["content_type"] == "image/png"
    r = _submit(client, alice, document([proof.get_json()["id"]]))
    assert r.status_code == 201, r.get_json()
    app = r.get_json()
    assert app["state"] == "accepted" and app["channel"] == "online" and app["deadline"]
    # an SMS-code account proves a phone, not a person: the application says so
    assert app["identity"] == {"acting_as": "applicant", "source": "sms_code", "verified": False}
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    d = client.post(
        f"/api/v1/applications/{app['id']}/decision",
        json={"approve": True, "version": app["version"]},
        headers=with_key(reviewer),
    )
    assert d.status_code == 200, d.get_json()
    body = d.get_json()
    assert body["decision"]["approved"] and body["credential"]["id"] == body["decision"]["credential_id"]
    jwks = client.get("/.well-known/jwks.json").get_json()
    verified = verify_token(
        body["credential"]["token"], CREDENTIAL, KeySet.from_jwks(jwks, runtime.settings.issuer), clock=runtime.clock
    )
    assert verified.claims["jti"] == body["credential"]["id"]
    png = client.get(body["credential"]["qr_png"], headers=alice)
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    mine = client.get(f"/api/v1/applications/{app['id']}", headers=alice).get_json()
    assert mine["state"] == "approved" and mine["permit_no"] == body["credential"]["permit_no"]


def test_rejection_lists_every_blocking_reason(client, runtime):
    bob = resident_headers(client, runtime, "13900139000")
    att = upload_proof(client, bob).get_json()["id"]
    doc = document(
        [att],
        id_number=make_id("19850512", seq="457"),
        residence={"division": "330102", "address": "杭州市"},
        commitment={"accepted": False, "at": None},
    )
    doc["applicant"]["hukou_division"] = "331121"
    app = _submit(client, bob, doc).get_json()
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    refused = client.post(
        f"/api/v1/applications/{app['id']}/decision", json={"approve": True}, headers=with_key(reviewer)
    )
    assert refused.status_code == 409 and refused.get_json()["code"] == "BLOCKING_FINDINGS_PRESENT"
    assert len(refused.get_json()["findings"]) == 4
    r = client.post(
        f"/api/v1/applications/{app['id']}/decision",
        json={"approve": False, "reasons": ["请补充材料"]},
        headers=with_key(reviewer),
    )
    assert r.status_code == 200 and r.get_json()["credential"] is None
    blocking = {f["code"] for f in r.get_json()["decision"]["blocking"]}
    assert blocking == {"LOCAL_HUKOU", "COMMITMENT_MISSING", "RESIDENCE_OUTSIDE_COUNTY", "REGISTRATION_NOT_CURRENT"}
    seen = client.get(f"/api/v1/applications/{app['id']}", headers=bob).get_json()
    assert seen["state"] == "rejected" and seen["decision"]["officer_reasons"] == ["请补充材料"]


def test_every_field_error_at_once_and_nothing_stored(client, runtime):
    alice = resident_headers(client, runtime, "13800138000")
    doc = document(["missing-1", "missing-2"])
    doc["applicant"]["phone"] = "12"
    del doc["commitment"]
    r = _submit(client, alice, doc)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    fields = {e["field"] for e in r.get_json()["errors"]}
    assert {"applicant.phone", "commitment", "conditions[0].attachments[0]", "conditions[0].attachments[1]"} <= fields
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(applications)).scalar() == 0


def test_applicants_see_only_their_own(client, runtime):
    alice = resident_headers(client, runtime, "13800138000")
    bob = resident_headers(client, runtime, "13900139000")
    app = _submit(client, alice, document([upload_proof(client, alice).get_json()["id"]])).get_json()
    att = client.get(f"/api/v1/applications/{app['id']}", headers=alice).get_json()
    assert att["id"] == app["id"]
    for path in (f"/api/v1/applications/{app['id']}", f"/api/v1/applications/{app['id']}/credential.png"):
        r = client.get(path, headers=bob)
        assert r.status_code == 404 and "张三明" not in r.get_data(as_text=True)
    assert client.post(f"/api/v1/applications/{app['id']}/withdraw", headers=bob).status_code == 404
    assert client.get(f"/api/v1/applications/{app['id']}").status_code == 401
    # bob cannot reference alice's upload either
    alices_file = upload_proof(client, alice).get_json()["id"]
    assert client.get(f"/api/v1/attachments/{alices_file}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/attachments/{alices_file}", headers=alice).status_code == 200
    r = _submit(client, bob, document([alices_file], id_number=make_id("19850512", seq="457")))
    assert r.status_code == 422 and r.get_json()["errors"][0]["code"] == "ATTACHMENT_NOT_FOUND"


def test_window_intake_and_four_eyes(client, runtime):
    import_records(runtime)
    clerk = officer_headers(client, runtime, "clerk", "clerk1")
    att = upload_proof(client, clerk).get_json()["id"]
    r = _submit(client, clerk, document([att], channel="window"))
    assert r.status_code == 201 and r.get_json()["channel"] == "window" and r.get_json()["state"] == "accepted"
    app_id = r.get_json()["id"]
    # a clerk never decides; an admin who entered an application cannot decide it either
    assert (
        client.post(
            f"/api/v1/applications/{app_id}/decision", json={"approve": True}, headers=with_key(clerk)
        ).status_code
        == 403
    )
    admin = officer_headers(client, runtime, "admin", "admin1")
    att2 = upload_proof(client, admin).get_json()["id"]
    app2 = _submit(
        client, admin, document([att2], channel="window", id_number=make_id("19850512", seq="457"))
    ).get_json()
    own = client.post(
        f"/api/v1/applications/{app2['id']}/decision",
        json={"approve": False, "reasons": ["x"]},
        headers=with_key(admin),
    )
    assert own.status_code == 403 and own.get_json()["code"] == "FOUR_EYES"
    reviewer = officer_headers(client, runtime, "reviewer", "reviewer1")
    ok = client.post(f"/api/v1/applications/{app_id}/decision", json={"approve": True}, headers=with_key(reviewer))
    assert ok.status_code == 200 and ok.get_json()["credential"]["token"]


def test_submitted_without_materials_is_accepted_by_a_clerk(client, runtime):
    alice = resident_headers(client, runtime, "13800138000")
    app = _submit(client, alice, document([])).get_json()
    assert app["state"] == "submitted"
    assert client.post(f"/api/v1/applications/{app['id']}/accept", headers=alice).status_code == 403
    clerk = officer_headers(client, runtime, "clerk", "clerk1")
    r = client.post(f"/api/v1/applications/{app['id']}/accept", headers=clerk)
    assert r.status_code == 200 and r.get_json()["state"] == "accepted"
    w = client.post(f"/api/v1/applications/{app['id']}/withdraw", headers=alice)
    assert w.status_code == 200 and w.get_json()["state"] == "withdrawn"


def test_sms_codes_are_rate_limited_per_phone(client, runtime):
    for _ in range(5):
        assert client.post("/api/v1/auth/sms-code", json={"phone": "13700137000"}).status_code == 202
    r = client.post("/api/v1/auth/sms-code", json={"phone": "13700137000"})
    assert r.status_code == 429 and r.get_json()["code"] == "SMS_RATE_LIMITED"
    assert client.post("/api/v1/auth/sms-code", json={"phone": "13600136000"}).status_code == 202
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.channel, outbox.c.payload).where(outbox.c.event_type == "login.code")
        ).all()
    assert len(rows) == 6 and {c for c, _ in rows} == {"sms"}
    assert all("13700137000" not in str(p) for _, p in rows)  # the phone travels encrypted


def test_wrong_code_is_refused_and_a_code_works_once(client, runtime):
    from tests.core.web.api_helpers import sms_code_sent

    code_id = client.post("/api/v1/auth/sms-code", json={"phone": "13800138000"}).get_json()["code_id"]
    code = sms_code_sent(runtime, "13800138000")
    wrong = "000000" if code != "000000" else "111111"

    def redeem(code, code_id=code_id):
        body = {"phone": "13800138000", "code": code, "code_id": code_id}
        return client.post("/api/v1/auth/resident-token", json=body).status_code

    assert redeem(wrong) == 401
    assert redeem(code, "not-the-one") == 401
    assert redeem(code) == 200
    assert redeem(code) == 401


def test_idempotency_key_cases(client, runtime):
    alice = resident_headers(client, runtime, "13800138000")
    doc = document([])
    assert client.post("/api/v1/applications", json=doc, headers=alice).status_code == 400
    bad = client.post("/api/v1/applications", json=doc, headers={**alice, "Idempotency-Key": "not-a-uuid"})
    assert bad.status_code == 422
    headers = with_key(alice)
    first = client.post("/api/v1/applications", json=doc, headers=headers)
    again = client.post("/api/v1/applications", json=doc, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = client.post(
        "/api/v1/applications", json={**doc, "waiver": None, "path": "permit_conversion"}, headers=headers
    )
    assert other.status_code == 422 and other.get_json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(applications)).scalar() == 1


def test_idempotency_key_in_flight_is_a_conflict(client, runtime):
    """A request whose first attempt is still being processed (its row is in flight) gets 409."""
    import datetime as dt
    import hashlib
    import json

    from govcred.core.orm import audit_log, idempotency_keys

    alice = resident_headers(client, runtime, "13800138000")
    headers = with_key(alice)
    body = {"schema": "x"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    now = runtime.clock.now()
    with runtime.engine.begin() as conn:
        actor = conn.execute(
            sa.select(audit_log.c.actor).where(
                audit_log.c.action == "auth.resident_token", audit_log.c.outcome == "success"
            )
        ).scalar()
        conn.execute(
            sa.insert(idempotency_keys).values(
                principal=actor,
                route="POST /api/v1/applications",
                key=headers["Idempotency-Key"],
                fingerprint=hashlib.sha256(b"POST /api/v1/applications\n" + canonical).hexdigest(),
                state="in_flight",
                created_at=now,
                expires_at=now + dt.timedelta(hours=1),
            )
        )
    r = client.post("/api/v1/applications", json=body, headers=headers)
    assert r.status_code == 409 and r.get_json()["code"] == "IDEMPOTENCY_IN_FLIGHT"
    # a failed request releases its key: the same key with a fixed body is processed
    with runtime.engine.begin() as conn:
        conn.execute(sa.delete(idempotency_keys))
    assert client.post("/api/v1/applications", json=body, headers=headers).status_code == 422
    assert client.post("/api/v1/applications", json=document([]), headers=headers).status_code == 201


def test_upload_limits_over_http(client, runtime):
    alice = resident_headers(client, runtime, "13800138000")
    huge = upload_proof(client, alice, b"\x89PNG\r\n\x1a\n" + b"\0" * (12 * 1024 * 1024), "huge.png")
    assert huge.status_code == 413 and huge.get_json()["code"] == "PAYLOAD_TOO_LARGE"
    big = upload_proof(client, alice, b"\x89PNG\r\n\x1a\n" + b"\0" * (10 * 1024 * 1024 + 10), "big.png")
    assert big.status_code == 422 and big.get_json()["errors"][0]["code"] == "TOO_LARGE"
    html = upload_proof(client, alice, b"<html><script>alert(1)</script></html>", "x.png")
    assert html.status_code == 422 and html.get_json()["errors"][0]["code"] == "TYPE_NOT_ALLOWED"
    missing = client.post("/api/v1/attachments", headers=alice, data={}, content_type="multipart/form-data")
    assert missing.status_code == 422


@pytest.mark.parametrize(
    "schema, status",
    [(["zj-residence/application@1"], 400), ({"id": "zj-residence/application@1"}, 400), (1, 400), (None, 422)],
)
def test_a_schema_that_is_not_a_string_is_a_field_error(client, runtime, schema, status):
    """A list or an object is a malformed request (400); a missing schema is an incomplete one (422)."""
    alice = resident_headers(client, runtime, "13800138000")
    doc = document([])
    doc["schema"] = schema
    r = _submit(client, alice, doc)
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    fields = {(e["field"], e["code"]) for e in r.get_json()["errors"]}
    assert ("schema", "SCHEMA_INVALID") in fields
