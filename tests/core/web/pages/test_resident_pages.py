"""Resident pages without a browser: SMS log-in, scoping to one's own data (404 for others),
server-side upload checks, the status page's deadline, and officers' status changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.orm import login_codes, outbox
from govcred.core.services import decisions, intake
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import add_officer, code_id_of, csrf_of, officer_login
from tests.core.workflow_helpers import document, import_records, officer, resident, upload


@pytest.fixture
def app(sqlite_runtime):
    return create_app(runtime=sqlite_runtime)


def latest_code(rt) -> str:
    from govcred.core.outbox import reveal_secrets

    with rt.uow(readonly=True) as uow:
        message_id, payload = uow.session.execute(
            sa.select(outbox.c.id, outbox.c.payload)
            .where(outbox.c.event_type == "login.code")
            .order_by(outbox.c.created_at.desc())
            .limit(1)
        ).one()
    return reveal_secrets(rt.secrets.cipher, message_id, payload)["code"]


def login_resident(client, rt, phone: str):
    token = csrf_of(client.get("/resident/login").data)
    sent = client.post("/resident/login/code", data={"csrf_token": token, "phone": phone})
    assert sent.status_code == 200 and "验证码已发送" in sent.get_data(as_text=True)
    done = client.post(
        "/resident/login",
        data={
            "csrf_token": csrf_of(sent.data),
            "phone": phone,
            "code": latest_code(rt),
            "code_id": code_id_of(sent.data),
        },
    )
    assert done.status_code == 302 and done.headers["Location"] == "/resident/home"
    return done


def submitted_application(rt, phone: str):
    import_records(rt)
    holder = resident(rt, phone)
    return intake.submit_application(
        rt.collaborators, document([upload(rt, holder)]), principal=holder, channel="online"
    )


def test_sms_login_code_goes_through_the_outbox_and_is_single_use(app, sqlite_runtime):
    client = app.test_client()
    login_resident(client, sqlite_runtime, "13900000011")
    with sqlite_runtime.uow(readonly=True) as uow:
        row = uow.session.execute(sa.select(outbox).where(outbox.c.event_type == "login.code")).mappings().one()
    assert row["channel"] == "sms" and "13900000011" not in str(row["payload"])  # the phone is encrypted
    other = app.test_client()
    token = csrf_of(other.get("/resident/login").data)
    with sqlite_runtime.uow(readonly=True) as uow:
        used = uow.session.execute(sa.select(login_codes.c.id)).scalar_one()
    data = {"csrf_token": token, "phone": "13900000011", "code": latest_code(sqlite_runtime), "code_id": used}
    reuse = other.post("/resident/login", data=data)
    assert reuse.status_code == 401 and "验证码错误或已过期" in reuse.get_data(as_text=True)


def test_bad_phone_and_code_are_reported_together(app):
    client = app.test_client()
    token = csrf_of(client.get("/resident/login").data)
    response = client.post("/resident/login", data={"csrf_token": token, "phone": "123", "code": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "11 位手机号码" in html and "6 位数字验证码" in html


def test_sixth_code_in_an_hour_is_refused(app):
    client = app.test_client()
    for _ in range(5):
        token = csrf_of(client.get("/resident/login").data)
        assert (
            client.post("/resident/login/code", data={"csrf_token": token, "phone": "13900000012"}).status_code == 200
        )
    token = csrf_of(client.get("/resident/login").data)
    sixth = client.post("/resident/login/code", data={"csrf_token": token, "phone": "13900000012"})
    assert sixth.status_code == 429 and "过于频繁" in sixth.get_data(as_text=True)
    assert sixth.headers["Retry-After"] == "3600"  # the number's hour began with the first code


def test_another_residents_application_and_permit_are_404(app, sqlite_runtime):
    theirs = submitted_application(sqlite_runtime, "13900000013")
    client = app.test_client()
    login_resident(client, sqlite_runtime, "13900000014")
    assert client.get(f"/resident/applications/{theirs.id}").status_code == 404
    assert client.get("/resident/permits/not-mine").status_code == 404
    assert client.get("/resident/permits/not-mine/qr.png").status_code == 404
    assert client.get("/officer/").status_code == 302  # a resident session is not an officer's


def test_status_page_shows_deadline_in_working_days(app, sqlite_runtime):
    import re

    from govcred.core.orm import residents

    own = submitted_application(sqlite_runtime, "13900000015")
    client = app.test_client()
    login_resident(client, sqlite_runtime, "13900000015")
    with sqlite_runtime.uow(readonly=True) as uow:
        assert uow.session.execute(sa.select(sa.func.count()).select_from(residents)).scalar_one() == 1
    html = client.get(f"/resident/applications/{own.id}").get_data(as_text=True)
    # accepted Monday 2026-11-30 10:00 Beijing: due end of Wednesday 2026-12-02, 2 working days left
    assert "已受理，审核中" in html and "2026年12月2日（含）前" in html
    assert re.search(r"还剩 2 个工作日", html)


def test_server_rechecks_uploads(app, sqlite_runtime):
    client = app.test_client()
    login_resident(client, sqlite_runtime, "13900000016")
    token = csrf_of(client.get("/resident/home").data)
    import io

    svg = client.post(
        "/resident/uploads",
        headers={"X-CSRF-Token": token},
        data={"file": (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "proof.png")},
    )
    assert svg.status_code == 422 and svg.get_json()["errors"][0]["field"] == "file"
    no_token = client.post("/resident/uploads", data={"file": (io.BytesIO(b"x"), "proof.png")})
    assert no_token.status_code == 400


def test_reviewer_suspends_and_reinstates_with_a_reason(app, sqlite_runtime):
    own = submitted_application(sqlite_runtime, "13900000017")
    decision = decisions.decide(
        sqlite_runtime.collaborators, own.id, approve=True, principal=officer(sqlite_runtime, "reviewer", "r0")
    )
    seed = add_officer(sqlite_runtime, "rev9", "reviewer")
    client = app.test_client()
    officer_login(client, sqlite_runtime, "rev9", seed)
    page = client.get(f"/officer/applications/{own.id}")
    url = f"/officer/credentials/{decision.credential_id}/status"
    missing = client.post(url, data={"csrf_token": csrf_of(page.data), "action": "suspend", "reason": ""})
    assert missing.status_code == 400 and "error-summary" in missing.get_data(as_text=True)
    done = client.post(url, data={"csrf_token": csrf_of(page.data), "action": "suspend", "reason": "未按期签注"})
    assert done.status_code == 302
    html = client.get(f"/officer/applications/{own.id}").get_data(as_text=True)
    assert "已中止" in html and "未按期签注" in html
    back = client.post(url, data={"csrf_token": csrf_of(page.data), "action": "reinstate", "reason": "已补办签注"})
    assert back.status_code == 302
    assert "有效" in client.get(f"/officer/applications/{own.id}").get_data(as_text=True)


def test_resident_session_idles_out_after_30_minutes(app, sqlite_runtime):
    client = app.test_client()
    login_resident(client, sqlite_runtime, "13900000018")
    sqlite_runtime.clock.advance(minutes=29)
    assert client.get("/resident/home").status_code == 200
    sqlite_runtime.clock.advance(minutes=30, seconds=1)
    assert client.get("/resident/home").status_code == 302


def test_unexpected_error_is_a_generic_page_with_request_id(app, sqlite_runtime, monkeypatch, caplog):
    own = submitted_application(sqlite_runtime, "13900000019")
    client = app.test_client()
    login_resident(client, sqlite_runtime, "13900000019")

    def broken(*_args, **_kwargs):
        raise RuntimeError("lookup failed for 330102199003071236")

    monkeypatch.setattr(intake, "get_application", broken)
    response = client.get(f"/resident/applications/{own.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "服务器内部错误" in html and response.headers["X-Request-Id"] in html
    assert "Traceback" not in html and "330102199003071236" not in html and "RuntimeError" not in html
    assert any("failed" in r.getMessage() for r in caplog.records)


def test_error_summary_gets_the_focus(app):
    client = app.test_client()
    token = csrf_of(client.get("/resident/login").data)
    html = client.post("/resident/login/code", data={"csrf_token": token, "phone": "1"}).get_data(as_text=True)
    assert 'id="error-summary"' in html and 'tabindex="-1"' in html and "/static/forms.js" in html
    assert client.get("/static/forms.js").status_code == 200
