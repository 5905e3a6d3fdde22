"""办件进度查询 over HTTP (the real app, Flask's client): the pages and the API say what is
wrong with a reference at once, answer an unknown reference like a known one, refuse a wrong,
used-up or expired code, count limits with 429 and Retry-After, need the CSRF token, and keep
the opened look-up for ten minutes only; the receipt's QR code leads here."""

from __future__ import annotations

import io
import re

import pypdf
import pytest
import zxingcpp
from PIL import Image

from govcred.core.reference import reference_of
from govcred.core.services import intake
from govcred.core.services.receipts import receipt_pdf
from govcred.core.testing.outbox import OutboxInspector
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import csrf_of
from tests.core.workflow_helpers import APPLICANT_ID, document, import_records, officer, resident, upload

PHONE = "13800005678"


@pytest.fixture
def world(sqlite_runtime):
    rt = sqlite_runtime
    import_records(rt)
    holder = resident(rt, "13900000081")
    doc = document([upload(rt, holder, name="租赁合同.png")])
    doc["applicant"]["phone"] = PHONE
    app = intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")
    return rt, create_app(runtime=rt).test_client(), app


def code_of(rt, code_id: str) -> str:
    (message,) = [m for m in OutboxInspector(rt).messages(event_type="progress.code") if m.aggregate_id == code_id]
    return message.secrets["code"]


def ask_code(client, reference: str):
    page = client.get("/progress")
    return client.post("/progress/code", data={"csrf_token": csrf_of(page.data), "reference": reference})


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def enter_code(client, sent_page, code: str):
    html = sent_page.get_data(as_text=True)
    form = {n: hidden(html, n) for n in ("csrf_token", "reference", "code_id", "phone_masked")}
    return client.post("/progress/view", data={**form, "code": code})


def test_reference_then_code_shows_the_progress_read_only_and_masked(world):
    rt, client, app = world
    ref = reference_of(app.id)
    sent = ask_code(client, ref.lower().replace("-", ""))
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "若编号正确，验证码已发送至预留手机（138****5678）" in html
    opened = enter_code(client, sent, code_of(rt, hidden(html, "code_id")))
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/progress/view")
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Path=/progress" in cookie and "Max-Age=600" in cookie
    view = client.get("/progress/view").get_data(as_text=True)
    assert ref in view and "已受理，审核中" in view and "日（含）前" in view
    assert app.subject_id_masked in view and APPLICANT_ID not in view and "提交申请" in view
    assert "<form" in view and view.count("<form") == 1  # only 结束查询: nothing to change here
    ended = client.post("/progress/end", data={"csrf_token": csrf_of(view)})
    assert ended.status_code == 302 and client.get("/progress/view").status_code == 401


def test_a_mistyped_reference_is_named_and_an_unknown_one_is_answered_like_a_known_one(world):
    rt, client, app = world
    ref = reference_of(app.id)
    bad = ask_code(client, ref[:-1] + ("0" if ref[-1] != "0" else "1"))
    assert bad.status_code == 400 and "校验位不符" in bad.get_data(as_text=True)
    short = ask_code(client, ref.replace("-", "")[:8])
    assert short.status_code == 400 and "应为 12 位（已填 8 位）" in short.get_data(as_text=True)
    unknown = ask_code(client, reference_of("nobody-applied-with-this-id"))
    text = unknown.get_data(as_text=True)
    assert unknown.status_code == 200 and "若编号正确，验证码已发送至预留手机" in text
    assert re.search(r"（1[3-9]\d\*\*\*\*\d{4}）", text)
    assert OutboxInspector(rt).rows(event_type="progress.code") == []


def test_a_wrong_code_a_sixth_guess_and_an_expired_code_are_refused(world):
    rt, client, app = world
    ref = reference_of(app.id)
    sent = ask_code(client, ref)
    code = code_of(rt, hidden(sent.get_data(as_text=True), "code_id"))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        refused = enter_code(client, sent, wrong)
        assert refused.status_code == 401 and "验证码错误或已过期" in refused.get_data(as_text=True)
    assert enter_code(client, sent, code).status_code == 401  # five guesses used up
    malformed = enter_code(client, sent, "12ab")
    assert malformed.status_code == 400 and "6 位数字" in malformed.get_data(as_text=True)

    late = ask_code(client, ref)
    rt.clock.advance(minutes=5, seconds=1)
    assert enter_code(client, late, code_of(rt, hidden(late.get_data(as_text=True), "code_id"))).status_code == 401


def test_the_look_up_ends_after_ten_minutes(world):
    rt, client, app = world
    sent = ask_code(client, reference_of(app.id))
    enter_code(client, sent, code_of(rt, hidden(sent.get_data(as_text=True), "code_id")))
    rt.clock.advance(minutes=9)
    assert client.get("/progress/view").status_code == 200
    rt.clock.advance(minutes=1)
    expired = client.get("/progress/view")
    assert expired.status_code == 401 and "查询已超时" in expired.get_data(as_text=True)


def test_too_many_codes_for_one_reference_is_a_429_with_retry_after(world):
    _rt, client, app = world
    ref = reference_of(app.id)
    for _ in range(5):
        assert ask_code(client, ref).status_code == 200
    limited = ask_code(client, ref)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "该办件编号获取验证码过于频繁" in limited.get_data(as_text=True)


def test_the_forms_need_the_csrf_token(world):
    _rt, client, app = world
    client.get("/progress")
    refused = client.post("/progress/code", data={"reference": reference_of(app.id)})
    assert refused.status_code == 400


def test_the_api_sends_and_opens_with_problem_json_errors(world):
    rt, client, app = world
    ref = reference_of(app.id)
    bad = client.post("/api/v1/progress/code", json={"reference": "ABCD"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert "应为 12 位" in str(bad.get_json())
    sent = client.post("/api/v1/progress/code", json={"reference": ref})
    body = sent.get_json()
    assert sent.status_code == 202 and body["phone_masked"] == "138****5678" and body["reference"] == ref
    wrong = client.post("/api/v1/progress", json={"reference": ref, "code_id": body["code_id"], "code": "999999"})
    if code_of(rt, body["code_id"]) != "999999":
        assert wrong.status_code == 401 and wrong.mimetype == "application/problem+json"
    shown = client.post(
        "/api/v1/progress", json={"reference": ref, "code_id": body["code_id"], "code": code_of(rt, body["code_id"])}
    )
    progress = shown.get_json()
    assert shown.status_code == 200 and progress["state"] == "accepted" and progress["state_zh"] == "已受理，审核中"
    assert progress["applicant"]["id_number"] == app.subject_id_masked and APPLICANT_ID not in shown.get_data(True)
    assert progress["deadline"]["text"].endswith("日（含）前")


def test_the_receipt_qr_code_leads_to_the_look_up_with_the_reference_filled_in(world):
    rt, client, app = world
    data = receipt_pdf(rt.collaborators, app.id, officer(rt, "clerk", "clerk-receipt"))
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    assert "办件进度查询" in text and "无需登录" in text
    (image,) = list(reader.pages[0].images)
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
    ref = reference_of(app.id)
    assert found.text == f"{rt.settings.issuer.rstrip('/')}/progress?ref={ref.replace('-', '')}"
    prefilled = client.get("/progress?ref=" + ref.replace("-", "")).get_data(as_text=True)
    assert f'value="{ref.replace("-", "")}"' in prefilled
