"""办件进度查询 in real Chromium at phone and desktop width (issue 13): no account, the
办件编号 (a mistyped one is flagged as it is typed), the code read from the outbox the SMS
worker delivers from, then the progress with the 补正 round and the restarted deadline."""

from __future__ import annotations

import pytest

from govcred.core.reference import reference_of
from govcred.core.services import intake, returns
from govcred.core.services.receipts import progress_url
from tests.core.web.pages.browser_stack import field, shoot
from tests.core.web.pages.test_browser_journeys import new_page, stack  # noqa: F401
from tests.core.workflow_helpers import APPLICANT_ID, document, officer, resident, upload

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = "13800009876"


@pytest.fixture(scope="module")
def returned_and_resubmitted(stack):
    """An application returned for one item and accepted again after the resident added it."""
    rt = stack.rt
    holder = resident(rt, "13900009876")
    doc = document([upload(rt, holder, name="租赁合同.png")])
    doc["applicant"]["phone"] = PHONE
    app = intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")
    reviewer = officer(rt, "reviewer", "rev-progress-browser")
    returns.return_for_materials(rt.collaborators, app.id, reviewer, notes=["租赁合同照片不清晰，请重新上传清晰的照片"])
    returns.resubmit_materials(rt.collaborators, app.id, holder, {"conditions[0]": [upload(rt, holder)]})
    return app


def test_progress_look_up_by_reference_without_an_account_at_phone_width(stack, returned_and_resubmitted):
    app = returned_and_resubmitted
    ref = reference_of(app.id)
    page = new_page(stack, "phone")
    page.goto(stack.issuer.url + "/")
    page.click("#progress-tile")
    page.wait_for_url("**/progress")
    mistyped = ref[:-1] + ("0" if ref[-1] != "0" else "1")
    page.fill(field("reference"), mistyped)
    page.locator(field("reference")).blur()
    page.wait_for_selector("#f-reference-live:not(.hidden)")
    assert "校验位不符" in page.inner_text("#f-reference-live")
    shoot(page, "70-progress-mistyped", stack)

    page.fill(field("reference"), ref.lower().replace("-", " "))  # how people retype it
    page.locator(field("reference")).blur()
    page.wait_for_selector("#f-reference-live.hidden", state="attached")
    page.click("#send-code")
    page.wait_for_selector("#code-sent")
    assert "若编号正确，验证码已发送至预留手机（138****9876）" in page.inner_text("#code-sent")
    assert page.inner_text("#lookup-reference") == ref
    shoot(page, "71-progress-code", stack)

    page.fill(field("code"), stack.latest_sms_code("progress.code"))
    page.click("#open-progress")
    page.wait_for_url("**/progress/view")
    assert page.inner_text("#progress-state") == "已受理，审核中"
    assert page.inner_text("#progress-deadline").endswith("日（含）前")
    assert page.inner_text("#progress-applicant") == f"{app.subject_name_masked}（{app.subject_id_masked}）"
    timeline = page.inner_text("#progress-timeline")
    for step in ("提交申请", "退回补正（共 1 项，一次性告知）", "租赁合同照片不清晰", "补正后重新受理"):
        assert step in timeline
    assert "重新计算" in page.inner_text("#progress-restart")
    assert APPLICANT_ID not in page.content()
    shoot(page, "72-progress-view", stack)

    page.click("#end-lookup")
    page.wait_for_selector("#lookup-ended")
    page.goto(stack.issuer.url + "/progress/view")
    assert "查询已超时" in page.inner_text("#error-summary")


def test_the_receipt_qr_address_opens_the_look_up_prefilled_at_desktop_width(stack, returned_and_resubmitted):
    app = returned_and_resubmitted
    page = new_page(stack, "desktop")
    page.goto(progress_url(stack.rt.collaborators, app.id))  # what the receipt's QR code holds
    assert page.input_value(field("reference")) == reference_of(app.id).replace("-", "")
    page.click("#send-code")
    page.wait_for_selector("#code-sent")
    page.fill(field("code"), "000000" if stack.latest_sms_code("progress.code") != "000000" else "111111")
    page.click("#open-progress")
    page.wait_for_selector("#error-summary")
    assert "验证码错误或已过期" in page.inner_text("#error-summary")
    page.fill(field("code"), stack.latest_sms_code("progress.code"))
    page.click("#open-progress")
    page.wait_for_url("**/progress/view")
    assert page.inner_text("#progress-reference") == reference_of(app.id)
    shoot(page, "73-progress-view-from-receipt", stack)
