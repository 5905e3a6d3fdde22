"""The officers' search page without a browser: a page of fifty, a 下一页 button that posts the
query again with the cursor (no query in any address), the bare page from the menu, a posted
search without its CSRF token refused, and a clerk who may search too."""

from __future__ import annotations

import re

import pytest

from govcred.core import models
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import add_officer, csrf_of, officer_login
from tests.core.workflow_helpers import APPLICANT_ID, document


@pytest.fixture
def client(sqlite_runtime):
    return create_app(runtime=sqlite_runtime).test_client()


def _many_applications_of_one_person(rt, n: int) -> None:
    now = rt.clock.now()
    with rt.uow() as uow:  # earlier applications withdrawn, all of the same ID number
        for _ in range(n):
            uow.applications.add(
                models.Application(
                    schema="zj-residence/application@1",
                    channel="window",
                    document=document(["a"], channel="window"),
                    state=models.WITHDRAWN,
                    subject_index=rt.secrets.index(APPLICANT_ID, "id_number"),
                    subject_name_masked="张*明",
                    subject_id_masked="3301**********1234",
                    county="331121",
                    created_at=now,
                )
            )
        uow.commit()


def _pager_forms(html: str) -> dict[str, dict[str, str]]:
    """The pager's forms by their button's text: action and hidden/button fields."""
    forms = {}
    for action, body in re.findall(r'<form method="post" action="([^"]+)" class="inline-form">(.*?)</form>', html):
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', body))
        (label,) = re.findall(r"<button[^>]*>([^<]+)</button>", body)
        forms[label] = {"action": action, **fields}
    return forms


def _search(client, q: str, **extra):
    token = csrf_of(client.get("/officer/search").data)
    return client.post("/officer/search", data={"csrf_token": token, "q": q, **extra})


def test_results_page_on_by_post_with_the_query_kept_out_of_every_address(client, sqlite_runtime):
    _many_applications_of_one_person(sqlite_runtime, 51)
    seed = add_officer(sqlite_runtime, "rev1", "reviewer")
    assert officer_login(client, sqlite_runtime, "rev1", seed).status_code == 302
    first = _search(client, APPLICANT_ID.lower())
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "按<strong>公民身份号码</strong>查询" in html
    assert html.count('class="queue-item') == 50 and "还有下一页" in html
    pager = _pager_forms(html)
    assert set(pager) == {"下一页"} and pager["下一页"]["action"] == "/officer/search"
    assert pager["下一页"]["q"] == APPLICANT_ID.lower() and pager["下一页"]["after"]
    # no address on the page carries the query: not a link, not a form's action
    assert not [u for u in re.findall(r'(?:href|action)="([^"]*)"', html) if APPLICANT_ID in u.upper()]
    second = client.post("/officer/search", data={k: v for k, v in pager["下一页"].items() if k != "action"})
    html2 = second.get_data(as_text=True)
    assert second.status_code == 200 and html2.count('class="queue-item') == 1
    assert set(_pager_forms(html2)) == {"回到第一页"}
    back = _pager_forms(html2)["回到第一页"]
    again = client.post("/officer/search", data={k: v for k, v in back.items() if k != "action"})
    assert again.get_data(as_text=True).count('class="queue-item') == 50


def test_the_bare_page_shows_the_box_and_a_clerk_may_search(client, sqlite_runtime):
    add_officer(sqlite_runtime, "clerk1", "clerk")
    assert officer_login(client, sqlite_runtime, "clerk1", None).status_code == 302
    bare = client.get("/officer/search")
    assert bare.status_code == 200 and 'name="q"' in bare.get_data(as_text=True)
    assert '<form method="post" action="/officer/search" class="search-box"' in bare.get_data(as_text=True)
    assert "请修改" not in bare.get_data(as_text=True)
    # an old bookmark with the query in its address is not searched: the box only
    old = client.get("/officer/search?q=13900000000").get_data(as_text=True)
    assert "按<strong>" not in old and 'value="13900000000"' not in old
    empty = _search(client, "13900000000").get_data(as_text=True)
    assert "按<strong>手机号码</strong>查询" in empty and "没有找到符合的申请" in empty
    bad = _search(client, "hello")
    assert bad.status_code == 422 and "无法识别查询内容" in bad.get_data(as_text=True)
    assert 'value="hello"' in bad.get_data(as_text=True)  # kept in the box to be corrected


def test_a_posted_search_without_its_csrf_token_is_refused(client, sqlite_runtime):
    add_officer(sqlite_runtime, "clerk1", "clerk")
    assert officer_login(client, sqlite_runtime, "clerk1", None).status_code == 302
    refused = client.post("/officer/search", data={"q": APPLICANT_ID})
    assert refused.status_code == 400 and "页面已过期或请求无效" in refused.get_data(as_text=True)
