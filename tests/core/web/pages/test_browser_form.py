"""The application form in real Chromium, at phone and desktop width (issue 13): the
employment-only form keeps every value through an error, a bad ID number is flagged as it
is typed, and a session that expires mid-form resumes after sign-in with the draft intact."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.core.web.pages.browser_stack import field, shoot
from tests.core.web.pages.test_browser_journeys import new_page, png, resident_login, stack  # noqa: F401
from tests.plugins.zhejiang_residence.zj_fixtures import EMPLOYER_USCC, make_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PERSON_ID = make_id("19920614", seq="612")


def to_form(page, stack):
    page.goto(stack.issuer.url + "/resident/apply")
    page.check(field("accept"))
    page.click("button:has-text('同意并继续')")
    page.wait_for_url("**/resident/apply/form")


def fill_employment_only(page, *, since: str):
    page.fill(field("applicant.name"), "赵六")
    page.fill(field("applicant.id_number"), PERSON_ID)
    page.fill(field("applicant.phone"), "13900005555")
    page.fill(field("applicant.hukou_division"), "330102")
    page.fill(field("applicant.hukou_address"), "杭州市上城区某路1号")
    page.fill(field("residence.address"), "青田县鹤城街道某路2号")
    page.select_option(field("conditions[1].proof"), "labor_contract")
    page.fill(field("conditions[1].employer"), "青田某某有限公司")
    page.fill(field("conditions[1].employer_uscc"), EMPLOYER_USCC)
    page.fill(field("conditions[1].division"), "331121")
    page.fill(field("conditions[1].since"), since)
    box = "[data-upload-field='conditions[1].attachments'] .upload-list li"
    page.set_input_files(
        field("conditions[1].attachments"), files=[{"name": "劳动合同.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.locator(box).first.wait_for()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_employment_only_form_keeps_every_value_through_an_error(stack, width):
    page = new_page(stack, width)
    resident_login(page, stack, "13900005555" if width == "phone" else "13900005556")
    to_form(page, stack)
    future = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    fill_employment_only(page, since=future)
    page.click("button:has-text('下一步')")
    page.wait_for_selector(".error-summary")
    listed = page.inner_text(".error-summary")
    assert "自何日起就业：" in listed and "不能晚于今天" in listed
    assert "上传住所证明" not in listed
    assert page.input_value(field("conditions[1].employer")) == "青田某某有限公司"
    assert page.input_value(field("conditions[1].employer_uscc")) == EMPLOYER_USCC
    assert page.input_value(field("conditions[1].proof")) == "labor_contract"
    assert page.input_value(field("conditions[1].since")) == future
    assert "劳动合同.png" in page.inner_text("[data-upload-field='conditions[1].attachments']")
    assert page.input_value(field("conditions[0].division")) == ""
    shoot(page, f"40-form-employment-error-{width}", stack)
    page.fill(field("conditions[1].since"), "2026-01-01")
    page.click("button:has-text('下一步')")
    page.wait_for_url("**/resident/apply/confirm")
    assert "青田某某有限公司" in page.inner_text("main") and "劳动合同.png" in page.inner_text("main")


def test_a_bad_id_number_is_flagged_on_the_form(stack):
    page = new_page(stack, "phone")
    resident_login(page, stack, "13900005557")
    to_form(page, stack)
    page.fill(field("applicant.id_number"), PERSON_ID[:17])
    page.press(field("applicant.id_number"), "Tab")
    live = page.locator("#f-applicant-id-number-live")
    assert live.is_visible() and "应为18位" in live.inner_text()
    wrong = PERSON_ID[:17] + ("0" if PERSON_ID[17] != "0" else "1")
    page.fill(field("applicant.id_number"), wrong)
    page.press(field("applicant.id_number"), "Tab")
    assert "校验位不正确" in live.inner_text()
    shoot(page, "41-form-bad-id-live", stack)
    page.click("button:has-text('下一步')")  # the server says the same, named by its field
    page.wait_for_selector(".error-summary")
    assert "公民身份号码：公民身份号码校验位不正确" in page.inner_text(".error-summary")
    page.fill(field("applicant.id_number"), PERSON_ID)
    page.press(field("applicant.id_number"), "Tab")
    assert not live.is_visible()


def test_a_session_expired_mid_form_resumes_after_sign_in_with_the_draft_intact(stack):
    from govcred.core.orm import web_sessions

    page = new_page(stack, "desktop")
    resident_login(page, stack, "13900005558")
    to_form(page, stack)
    fill_employment_only(page, since="2026-01-01")
    page.fill(field("applicant.name"), "钱七")
    # half an hour without a click: the resident's idle limit passes
    with stack.rt.uow() as uow:
        uow.session.execute(
            sa.update(web_sessions).values(last_seen_at=stack.rt.clock.now() - dt.timedelta(minutes=31))
        )
        uow.commit()
    page.click("button:has-text('下一步')")
    page.wait_for_url("**/resident/login**")
    assert "您填写的内容已保存" in page.inner_text("#session-expired")
    shoot(page, "42-session-expired-login", stack)
    page.fill(field("phone"), "13900005558")
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector(field("code"))
    page.fill(field("code"), stack.latest_sms_code())
    page.click("button:has-text('登录')")
    page.wait_for_url("**/resident/apply/form")
    assert page.input_value(field("applicant.name")) == "钱七"
    assert page.input_value(field("conditions[1].employer")) == "青田某某有限公司"
    assert "劳动合同.png" in page.inner_text("[data-upload-field='conditions[1].attachments']")
    shoot(page, "43-form-resumed", stack)
    page.click("button:has-text('下一步')")
    page.wait_for_url("**/resident/apply/confirm")
