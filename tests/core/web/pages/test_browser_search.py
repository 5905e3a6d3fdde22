"""The officers' search box in real Chromium: on the queue page, it tells which kind of
identifier was typed (ID number, 办件编号, phone) in Chinese, lists the matches, opens one,
and names a mistyped check character; searching and going to page 2 puts the ID number or the
phone in no address the server sees (nor in any Referer)."""

from __future__ import annotations

import pytest

from govcred.core import models
from govcred.core.services import intake
from govcred.core.services.search_indexes import phone_index
from tests.core.web.pages.browser_stack import field, shoot
from tests.core.web.pages.pagekit import add_officer
from tests.core.web.pages.test_browser_journeys import new_page, reviewer_login, stack  # noqa: F401
from tests.core.workflow_helpers import document, resident, upload
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEARCHED_ID = make_id("19920202", seq="626")
PHONE = "13900006262"
PAGED_ID = make_id("19880808", seq="627")
PAGED_PHONE = "13700006270"


def _search(page, text: str) -> str:
    page.fill(field("q"), text)
    with page.expect_navigation():
        page.click("form.search-box button")
    assert page.url.endswith("/officer/search")  # posted: the query is in no address
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


def _withdrawn_applications(rt, n: int, id_number: str, phone: str) -> None:
    """``n`` earlier applications of one person (withdrawn): more than one page of results."""
    now = rt.clock.now()
    with rt.uow() as uow:
        for _ in range(n):
            doc = document(["a"], channel="window", id_number=id_number)
            doc["applicant"]["phone"] = phone
            uow.applications.add(
                models.Application(
                    schema="zj-residence/application@1",
                    channel="window",
                    document=doc,
                    state=models.WITHDRAWN,
                    subject_index=rt.secrets.index(id_number, "id_number"),
                    phone_index=phone_index(rt.collaborators, phone),
                    subject_name_masked="李*华",
                    subject_id_masked=id_number[:4] + "*" * 10 + id_number[-4:],
                    county="331121",
                    created_at=now,
                )
            )
        uow.commit()


class _SeenByServer:
    """Every request the issuer's WSGI app receives: its address (path and query string) and
    its Referer, recorded at the server, between werkzeug's server and the Flask app."""

    def __init__(self, flask_app):
        self.flask_app, self.inner, self.seen = flask_app, flask_app.wsgi_app, []

    def __enter__(self):
        def recording(environ, start_response):
            self.seen.append(environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", ""))
            self.seen.append(environ.get("HTTP_REFERER", ""))
            return self.inner(environ, start_response)

        self.flask_app.wsgi_app = recording
        return self

    def __exit__(self, *exc):
        self.flask_app.wsgi_app = self.inner


def test_going_to_page_two_puts_no_id_number_or_phone_in_any_address(stack):
    rt = stack.rt
    _withdrawn_applications(rt, 51, PAGED_ID, PAGED_PHONE)
    seed = add_officer(rt, "reviewer-paging", "reviewer")
    page = new_page(stack, "desktop")
    browser_urls: list[str] = []
    page.on("request", lambda request: browser_urls.append(request.url + " " + (request.headers.get("referer") or "")))
    with _SeenByServer(stack.issuer_app) as server:
        reviewer_login(page, stack, "reviewer-paging", seed)
        page.wait_for_url("**/officer/**")
        page.goto(stack.issuer.url + "/officer/")

        _search(page, PAGED_ID)
        assert page.locator(".search-results .queue-item").count() == 50
        assert "还有下一页" in page.inner_text(".search-kind")
        with page.expect_navigation():
            page.click(".pager button:has-text('下一页')")
        assert page.locator(".search-results .queue-item").count() == 1
        assert page.is_visible(".pager button:has-text('回到第一页')")
        shoot(page, "64-officer-search-page-2", stack)
        page.click(".search-results a")  # the next request's Referer is the search page
        page.wait_for_url("**/officer/applications/*")

        page.goto(stack.issuer.url + "/officer/")
        _search(page, PAGED_PHONE)
        with page.expect_navigation():
            page.click(".pager button:has-text('下一页')")
        assert page.locator(".search-results .queue-item").count() == 1

    assert any("/officer/search" in u for u in server.seen) and len(browser_urls) > 5
    for seen in server.seen + browser_urls:
        assert PAGED_ID not in seen.upper() and PAGED_PHONE not in seen, seen
