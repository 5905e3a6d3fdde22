"""The officers' search box in real Chromium: on the queue page, it tells which kind of
identifier was typed (ID number, 办件编号, phone) in Chinese, lists the matches, opens one,
and names a mistyped check character."""

from __future__ import annotations

import pytest

from govcred.core.services import intake
from tests.core.web.pages.browser_stack import field, shoot
from tests.core.web.pages.pagekit import add_officer
from tests.core.web.pages.test_browser_journeys import new_page, reviewer_login, stack  # noqa: F401
from tests.core.workflow_helpers import document, resident, upload
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEARCHED_ID = make_id("19920202", seq="626")
PHONE = "13900006262"


def _search(page, text: str) -> str:
    page.fill(field("q"), text)
    page.click("form.search-box button")
    page.wait_for_url("**/officer/search?*")
    return page.inner_text("main")


def test_the_search_box_detects_the_kind_and_finds_the_application(stack):
    rt = stack.rt
    holder = resident(rt, PHONE)
    doc = document([upload(rt, holder)], id_number=SEARCHED_ID)
    doc["applicant"]["phone"] = PHONE
    app = intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")

    seed = add_officer(rt, "reviewer-search", "reviewer")
    page = new_page(stack, "desktop")
    reviewer_login(page, stack, "reviewer-search", seed)
    page.wait_for_url("**/officer/**")
    page.goto(stack.issuer.url + "/officer/")
    assert page.is_visible("form.search-box")

    text = _search(page, SEARCHED_ID)
    assert "按公民身份号码查询" in page.inner_text(".search-kind")
    assert app.reference in text and SEARCHED_ID not in text  # the list shows the masked number
    shoot(page, "62-officer-search-id", stack)

    _search(page, app.reference.replace("-", "").lower())
    assert "按办件编号查询" in page.inner_text(".search-kind")
    page.click(f".search-results a:has-text('{app.reference}')")
    page.wait_for_url(f"**/officer/applications/{app.id}")
    assert app.reference in page.inner_text("main")

    page.goto(stack.issuer.url + "/officer/")
    _search(page, "139 0000 6262")
    assert "按手机号码查询" in page.inner_text(".search-kind")
    assert app.reference in page.inner_text(".search-results")

    bad = SEARCHED_ID[:-1] + ("1" if SEARCHED_ID[-1] == "0" else "0")
    _search(page, bad)
    assert "校验位不正确" in page.inner_text(".error-summary")
    assert page.input_value(field("q")) == bad  # what was typed stays to be corrected
    shoot(page, "63-officer-search-error", stack)
