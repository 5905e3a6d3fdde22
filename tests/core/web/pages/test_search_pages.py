"""The officers' search page without a browser: a page of fifty, a 下一页 link that carries
the query on, the bare page from the menu, and a clerk who may search too."""

from __future__ import annotations

import re

import pytest

from govcred.core import models
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import add_officer, officer_login
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


def test_results_page_on_with_the_query_kept(client, sqlite_runtime):
    _many_applications_of_one_person(sqlite_runtime, 51)
    seed = add_officer(sqlite_runtime, "rev1", "reviewer")
    assert officer_login(client, sqlite_runtime, "rev1", seed).status_code == 302
    first = client.get("/officer/search", query_string={"q": APPLICANT_ID.lower()})
    html = first.get_data(as_text=True)
    assert first.status_code == 200 and "按<strong>公民身份号码</strong>查询" in html
    assert html.count('class="queue-item') == 50 and "还有下一页" in html
    (next_link,) = re.findall(r'href="(/officer/search\?[^"]*after=[^"]*)"', html)
    second = client.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert second.count('class="queue-item') == 1 and "回到第一页" in second and "下一页</a>" not in second


def test_the_bare_page_shows_the_box_and_a_clerk_may_search(client, sqlite_runtime):
    add_officer(sqlite_runtime, "clerk1", "clerk")
    assert officer_login(client, sqlite_runtime, "clerk1", None).status_code == 302
    bare = client.get("/officer/search")
    assert bare.status_code == 200 and 'name="q"' in bare.get_data(as_text=True)
    assert "请修改" not in bare.get_data(as_text=True)
    empty = client.get("/officer/search?q=13900000000").get_data(as_text=True)
    assert "按<strong>手机号码</strong>查询" in empty and "没有找到符合的申请" in empty
    bad = client.get("/officer/search?q=hello")
    assert bad.status_code == 422 and "无法识别查询内容" in bad.get_data(as_text=True)
