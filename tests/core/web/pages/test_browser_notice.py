"""The notice page (告知承诺) in real Chromium shows the process flowchart: the SVG loads
(the page's Content-Security-Policy lets it), fits a phone's width, and its text
alternative lists every step."""

from __future__ import annotations

import pytest

from tests.core.web.pages.browser_stack import shoot
from tests.core.web.pages.test_browser_journeys import new_page, resident_login, stack  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_notice_page_shows_the_flowchart_with_its_text(stack):
    page = new_page(stack, "phone")
    resident_login(page, stack, "13900006464")
    page.goto(stack.issuer.url + "/resident/apply")
    image = page.locator("#flowchart img")
    image.wait_for()
    page.wait_for_function("document.querySelector('#flowchart img').complete")
    width, natural = page.evaluate(
        "[document.querySelector('#flowchart img').getBoundingClientRect().width,"
        " document.querySelector('#flowchart img').naturalWidth]"
    )
    assert natural > 0, "the flowchart did not load"
    assert width <= 360
    assert image.get_attribute("alt").startswith("办理流程：告知承诺")
    page.click("#flowchart-steps summary")
    steps = page.inner_text("#flowchart-steps")
    for name in ("告知承诺", "在线填表", "上传材料", "确认提交", "受理", "审核", "办结", "补正", "不予办理", "发证"):
        assert name in steps, name
    shoot(page, "64-notice-flowchart", stack)
