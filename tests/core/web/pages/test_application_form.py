"""The resident's application form without a browser: every value stays in its field through
every error, every error is named by its field in the form's order, the server re-checks what
the form's script checks, and the draft lives on the server so an expired session loses
nothing and signing in again returns to the same step."""

from __future__ import annotations

import html as htmllib
import io
import re

import pytest
import sqlalchemy as sa

from govcred.core.orm import form_drafts
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import csrf_of
from tests.core.web.pages.test_resident_pages import login_resident
from tests.core.workflow_helpers import APPLICANT_ID, png_bytes
from tests.plugins.zhejiang_residence.zj_fixtures import EMPLOYER_USCC

PHONE = "13900000031"


@pytest.fixture
def app(sqlite_runtime):
    return create_app(runtime=sqlite_runtime)


def field_value(page: str, name: str) -> str | None:
    fid = "f-" + re.sub(r"[^0-9A-Za-z]", "-", name)
    match = re.search(rf'<input id="{fid}"[^>]*value="([^"]*)"', page)
    return htmllib.unescape(match.group(1)) if match else None


def selected(page: str, name: str) -> str | None:
    fid = "f-" + re.sub(r"[^0-9A-Za-z]", "-", name)
    block = page.split(f'<select id="{fid}"', 1)[1].split("</select>", 1)[0]
    match = re.search(r'<option value="([^"]*)" selected>', block)
    return match.group(1) if match else None


def summary(page: str) -> list[tuple[str, str]]:
    box = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    return [(a, htmllib.unescape(t)) for a, t in re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', box)]


def to_form(client) -> str:
    page = client.get("/resident/apply")
    done = client.post("/resident/apply", data={"csrf_token": csrf_of(page.data), "accept": "yes"})
    assert done.status_code == 302 and done.headers["Location"] == "/resident/apply/form"
    return csrf_of(client.get("/resident/apply/form").data)


def proof(client, token: str) -> str:
    sent = client.post(
        "/resident/uploads", headers={"X-CSRF-Token": token}, data={"file": (io.BytesIO(png_bytes()), "合同.png")}
    )
    assert sent.status_code == 200, sent.get_data(as_text=True)
    return sent.get_json()["id"]


def employment_only(token: str, attachment: str, **changes) -> dict:
    data = {
        "csrf_token": token,
        "path": "registration_recognition",
        "applicant.name": "张三",
        "applicant.id_number": APPLICANT_ID,
        "applicant.phone": PHONE,
        "applicant.hukou_division": "330102",
        "applicant.hukou_address": "杭州市上城区某路1号",
        "residence.division": "331121",
        "residence.address": "青田县鹤城街道某路2号",
        "=conditions[0].kind": "residence",
        "conditions[0].proof": "",
        "conditions[0].division": "",
        "conditions[0].since": "",
        "=conditions[1].kind": "employment",
        "conditions[1].proof": "labor_contract",
        "conditions[1].employer": "青田某某有限公司",
        "conditions[1].employer_uscc": EMPLOYER_USCC,
        "conditions[1].division": "331121",
        "conditions[1].since": "2026-01-01",
        "conditions[1].attachments": attachment,
        "=conditions[2].kind": "schooling",
    }
    data.update(changes)
    return data


def test_the_employment_only_form_keeps_every_value_through_an_error(app, sqlite_runtime):
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    token = to_form(client)
    att = proof(client, token)
    sent = client.post(
        "/resident/apply/form", data=employment_only(token, att, **{"conditions[1].since": "2030-01-01"})
    )
    page = sent.get_data(as_text=True)
    assert sent.status_code == 400
    assert summary(page) == [
        ("f-conditions-1--since", "自何日起就业：自何日起就业不能晚于今天（2026年11月30日），请核对后重新填写")
    ]
    assert field_value(page, "conditions[1].employer") == "青田某某有限公司"
    assert field_value(page, "conditions[1].employer_uscc") == EMPLOYER_USCC
    assert selected(page, "conditions[1].proof") == "labor_contract"
    assert f'name="conditions[1].attachments" value="{att}"' in page and "已上传：合同.png" in page
    assert field_value(page, "conditions[0].division") == "" and selected(page, "conditions[0].proof") is None
    assert "上传住所证明：" not in page  # the error is not moved to the housing section

    fixed = client.post("/resident/apply/form", data=employment_only(token, att))
    assert fixed.status_code == 302 and fixed.headers["Location"] == "/resident/apply/confirm"
    confirm = client.get("/resident/apply/confirm").get_data(as_text=True)
    assert "青田某某有限公司" in confirm and "合同.png" in confirm
    done = client.post("/resident/apply/confirm", data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 302 and "/resident/applications/" in done.headers["Location"]
    status = client.get(done.headers["Location"]).get_data(as_text=True)
    receipt = client.get(done.headers["Location"] + "/receipt.pdf")  # linked from the status page
    assert 'id="receipt-link"' in status and receipt.status_code == 200
    assert receipt.mimetype == "application/pdf" and receipt.data.startswith(b"%PDF")
    with sqlite_runtime.uow(readonly=True) as uow:  # submitted: the draft is gone
        assert uow.session.execute(sa.select(sa.func.count()).select_from(form_drafts)).scalar() == 0


def test_an_empty_form_names_name_id_and_phone_first(app, sqlite_runtime):
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    token = to_form(client)
    page = client.post(
        "/resident/apply/form",
        data={"csrf_token": token, "path": "registration_recognition", "residence.division": "331121"},
    )
    listed = summary(page.get_data(as_text=True))
    assert [text.split("：")[0] for _a, text in listed[:3]] == ["姓名", "公民身份号码", "手机号码"]
    assert all("：" in text for _a, text in listed), listed  # every error is named by its field
    assert not any(text.startswith("缺少必填项") for _a, text in listed)
    assert ("f-conditions", "申领条件：合法稳定住所、合法稳定就业、连续就读至少填写一项，并上传证明材料") in listed


def test_a_wrong_check_digit_is_refused_at_the_form_step(app, sqlite_runtime):
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    token = to_form(client)
    att = proof(client, token)
    wrong = APPLICANT_ID[:17] + ("0" if APPLICANT_ID[17] != "0" else "1")
    for number, words in ((APPLICANT_ID[:17], "应为18位"), (wrong, "校验位不正确")):
        sent = client.post("/resident/apply/form", data=employment_only(token, att, **{"applicant.id_number": number}))
        listed = summary(sent.get_data(as_text=True))
        assert sent.status_code == 400 and len(listed) == 1
        assert listed[0][0] == "f-applicant-id-number" and words in listed[0][1]


def test_the_waiver_and_schooling_are_on_the_form_and_reach_the_confirmation(app, sqlite_runtime):
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    token = to_form(client)
    form = client.get("/resident/apply/form").get_data(as_text=True)
    assert "连续就读" in form and 'name="waiver.reference"' in form and 'name="conditions[2].school"' in form
    att = proof(client, token)
    sent = client.post(
        "/resident/apply/form",
        data=employment_only(
            token, att, **{"waiver.basis": "recruited_talent", "waiver.reference": "青政办〔2026〕12号"}
        ),
    )
    assert sent.status_code == 302
    confirm = client.get("/resident/apply/confirm").get_data(as_text=True)
    assert "引进人才" in confirm and "青政办〔2026〕12号" in confirm


def test_a_form_sent_after_the_session_lapsed_is_kept_and_resumes_after_sign_in(app, sqlite_runtime, clock):
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    token = to_form(client)
    att = proof(client, token)
    clock.advance(minutes=31)  # the resident's idle limit is 30 minutes
    sent = client.post("/resident/apply/form", data=employment_only(token, att, **{"applicant.name": "张三丰"}))
    assert sent.status_code == 302
    assert sent.headers["Location"] == "/resident/login?next=/resident/apply/form&expired=1"
    login_page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "您填写的内容已保存" in login_page
    with sqlite_runtime.uow(readonly=True) as uow:  # kept on the server, encrypted
        blob = uow.session.execute(sa.select(form_drafts.c.values_enc)).scalar_one()
    assert "张三丰".encode() not in blob and APPLICANT_ID.encode() not in blob

    token = csrf_of(login_page)
    code_page = client.post(
        "/resident/login/code", data={"csrf_token": token, "phone": PHONE, "next": "/resident/apply/form"}
    )
    from tests.core.web.pages.pagekit import code_id_of
    from tests.core.web.pages.test_resident_pages import latest_code

    done = client.post(
        "/resident/login",
        data={
            "csrf_token": csrf_of(code_page.data),
            "phone": PHONE,
            "code": latest_code(sqlite_runtime),
            "code_id": code_id_of(code_page.data),
            "next": "/resident/apply/form",
        },
    )
    assert done.headers["Location"] == "/resident/apply/form"
    page = client.get("/resident/apply/form").get_data(as_text=True)
    assert field_value(page, "applicant.name") == "张三丰"
    assert field_value(page, "conditions[1].employer") == "青田某某有限公司"
    assert "已上传：合同.png" in page
    notice = client.get("/resident/apply").get_data(as_text=True)
    assert "继续填写" in notice


def test_a_signed_out_session_keeps_nothing(app, sqlite_runtime, clock):
    """Signing out ends the session for good: a form sent with its old cookie only leads to
    the log-in page, and nothing it carries is written anywhere."""
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    token = to_form(client)
    name = next(c.key for c in client._cookies.values() if "session" in c.key)
    cookie = client.get_cookie(name).value
    client.post("/resident/logout", data={"csrf_token": token})
    client.set_cookie(name, cookie)
    sent = client.post("/resident/apply/form", data={"csrf_token": token, "applicant.name": "李四"})
    assert sent.status_code == 302 and sent.headers["Location"] == "/resident/login"
    clock.advance(minutes=1)  # (the newest SMS code is the one read back)
    login_resident(client, sqlite_runtime, PHONE)
    assert "李四" not in client.get("/resident/apply/form").get_data(as_text=True)
