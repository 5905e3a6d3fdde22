"""补正 in real Chromium (issue 13): a reviewer returns an application listing what is
missing, the resident uploads it and resubmits, the deadline restarts, and the reviewer
approves."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.core.web.pages.browser_stack import field, shoot
from tests.core.web.pages.pagekit import add_officer
from tests.core.web.pages.test_browser_journeys import (  # noqa: F401
    fill_application,
    new_page,
    png,
    resident_login,
    reviewer_login,
    stack,
    upload_proof,
)
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RETURNED_ID = make_id("19880808", seq="818")


def test_a_return_for_more_materials_round_trip_ends_in_an_approval(stack):
    from govcred.plugins.zhejiang_residence.configured import configured

    rt = stack.rt
    long_ago = rt.clock.today_beijing() - dt.timedelta(days=300)
    configured(rt.pm).import_people(
        {RETURNED_ID: {"registrations": [{"division": "331121", "declared": long_ago, "ended": None}]}}, rt.clock.now()
    )
    page = new_page(stack, "phone")
    resident_login(page, stack, "13900006666")
    page.goto(stack.issuer.url + "/resident/apply")
    page.check(field("accept"))
    page.click("button:has-text('同意并继续')")
    fill_application(page, name="孙八", id_number=RETURNED_ID, phone="13900006666")
    upload_proof(page, "模糊的合同.png")
    page.click("button:has-text('下一步')")
    page.click("button:has-text('确认提交')")
    page.wait_for_url("**/resident/applications/*")
    status_url = page.url
    reference = page.inner_text("#app-reference")

    seed = add_officer(rt, "reviewer-r", "reviewer")
    officer = new_page(stack, "desktop")
    reviewer_login(officer, stack, "reviewer-r", seed)
    officer.wait_for_url("**/officer/**")
    officer.goto(status_url.replace("/resident/applications/", "/officer/applications/"))
    assert reference in officer.inner_text("main")
    officer.fill(field("items"), "租赁合同照片不清晰，请重新上传清晰的照片")
    shoot(officer, "50-review-return-form", stack)
    officer.click("#return-button")
    officer.wait_for_function("document.getElementById('app-state').textContent === '待补正材料'")
    assert "租赁合同照片不清晰" in officer.inner_text("#return-rounds")

    page.goto(status_url)
    assert page.inner_text("#app-state") == "待补正材料"
    items = page.inner_text("#return-items")
    assert "租赁合同照片不清晰" in items and "怎么办" in items
    assert "重新计算" in page.inner_text("#return-card")
    shoot(page, "51-status-returned", stack)
    box = "[data-upload-field='conditions[0].attachments'] .upload-list li"
    page.set_input_files(
        field("conditions[0].attachments"), files=[{"name": "清晰的合同.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.locator(box).first.wait_for()
    page.click("#resubmit-button")
    page.wait_for_function("document.getElementById('app-state').textContent === '已受理，审核中'")
    assert "重新计算" in page.inner_text("#restart-basis")
    shoot(page, "52-status-resubmitted", stack)

    officer.reload()
    assert "清晰的合同.png" in officer.inner_text("main")
    history = officer.inner_text("main")
    assert "退回补正" in history and "补正材料后重新提交" in history
    officer.click("button:has-text('批准并签发')")
    officer.wait_for_selector("#credential-status")
    page.goto(status_url)
    assert page.inner_text("#app-state") == "已批准"
    shoot(page, "53-status-approved-after-return", stack)
