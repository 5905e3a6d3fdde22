"""The permit's life on the pages (SQLite and PostgreSQL): the resident's e-permit page with
status, endorsement window, the 申请签注 button only inside the window, reminders and history;
the officers' permit queue and permit page with window endorsement and status changes."""

from __future__ import annotations

import re

import pytest

from govcred.core.services.sweep import run_sweep
from govcred.core.web import create_app
from tests.core.permits import beijing, issue_permit
from tests.core.web.pages.pagekit import add_officer, csrf_of, officer_login
from tests.core.web.pages.test_resident_pages import login_resident

PHONE = "13900000051"
ENDORSE_BUTTON = 'id="endorse-button"'


@pytest.fixture
def app(runtime):
    return create_app(runtime=runtime)


@pytest.fixture
def permit(runtime, clock):
    """Issued Monday 2026-11-30 10:00 Beijing: lapses at the end of 2027-11-30."""
    clock.set(beijing(2026, 11, 30))
    return issue_permit(runtime, owner_phone=PHONE)


def page_at(client, rt, url: str, phone: str = PHONE) -> str:
    """The page after a fresh log-in (moving the clock months ends the session)."""
    login_resident(client, rt, phone)
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_resident_endorses_inside_the_window_then_misses_the_next(app, runtime, clock, permit):
    client = app.test_client()
    url = f"/resident/permits/{permit.id}"

    clock.set(beijing(2027, 10, 1))  # before the window: dates shown, no button, a forced POST is refused
    html = page_at(client, runtime, url)
    assert "签注办理期：2027年10月30日至2027年11月29日" in html
    assert ">有效<" in html and ENDORSE_BUTTON not in html and "签注办理期开始后" in html
    early = client.post(f"{url}/endorsement", data={"csrf_token": csrf_of(html)})
    early_html = early.get_data(as_text=True)
    assert early.status_code == 409 and "error-summary" in early_html
    assert "尚未到签注办理期" in early_html and "2027年10月30日至2027年11月29日" in early_html

    clock.set(beijing(2027, 11, 2))  # inside the window
    html = page_at(client, runtime, url)
    assert ENDORSE_BUTTON in html and "办理期内" in html
    done = client.post(f"{url}/endorsement", data={"csrf_token": csrf_of(html)})
    assert done.status_code == 302
    new_url = done.headers["Location"].split("?")[0]
    assert new_url != url and done.headers["Location"].endswith("?done=endorsed")
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "签注已办理" in html and ">有效<" in html
    assert "签注办理期：2028年10月30日至2028年11月29日" in html and ENDORSE_BUTTON not in html
    history = _history_rows(html)
    assert history[0] == ["2027年11月2日", "签注（第 2 版）", "有效期至 2028年11月30日"]
    assert history[-1] == ["2026年11月30日", "首次签发", "有效期至 2027年11月30日"]
    assert client.get(url).headers["Location"] == new_url  # the old version's page shows the permit now

    # the 2028 anniversary passes without endorsement; the sweep suspends the permit
    clock.set(beijing(2028, 12, 1, 9, 0))
    assert run_sweep(runtime.collaborators).suspended == 1
    html = page_at(client, runtime, new_url)
    assert "已中止（未按期签注）" in html and 'id="late-explanation"' in html
    assert "居住年限自补办签注之日起连续计算" in html and "证件当前不可出示" in html
    assert ENDORSE_BUTTON in html  # a late endorsement is possible at any time

    late = client.post(f"{new_url}/endorsement", data={"csrf_token": csrf_of(html)})
    assert late.status_code == 302
    html = client.get(late.headers["Location"]).get_data(as_text=True)
    assert ">有效<" in html and "居住起算日" in html and "2028年12月1日" in html
    events = [row[1] for row in _history_rows(html)]
    assert events == ["补办签注，恢复使用（第 3 版）", "逾期未签注，中止使用", "签注（第 2 版）", "首次签发"]


def test_refused_endorsement_lists_every_reason(app, runtime, clock, permit):
    """The holder's job ended before the window: the page lists every finding of the refusal."""
    from govcred.core.orm import encrypt_document

    with runtime.uow() as uow:
        original = uow.applications.get(permit.application_id)
        original.document["conditions"][0]["until"] = "2027-09-30"
        encrypt_document(runtime.secrets.cipher, original)
        uow.commit()
    clock.set(beijing(2027, 11, 2))
    client = app.test_client()
    url = f"/resident/permits/{permit.id}"
    html = page_at(client, runtime, url)
    refused = client.post(f"{url}/endorsement", data={"csrf_token": csrf_of(html)})
    refused_html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "不再符合居住证申领条件，不予签注" in refused_html
    reasons = re.findall(r"<li[^>]*><strong>(.*?)</strong><br><span class=\"muted\">依据：", refused_html)
    # every finding at once: no qualifying condition left, and why the employment no longer counts
    assert len(reasons) >= 2 and reasons[0].startswith("不符合："), reasons
    assert any(r.startswith("提示：") for r in reasons), reasons
    assert "到受理窗口办理签注" in refused_html
    html = client.get(url).get_data(as_text=True)
    assert ">有效<" in html and "签注（第 2 版）" not in html


def test_officer_suspension_hides_the_endorsement_button(app, runtime, clock, permit):
    """Suspended by an officer (data being checked): only an officer lifts it, not an endorsement."""
    from govcred.core.services.credential_status import change_status
    from tests.core.permits import make_officer

    clock.set(beijing(2027, 11, 2))
    change_status(
        runtime.collaborators,
        permit.id,
        "suspended",
        reason="身份信息核查中",
        principal=make_officer(runtime, "reviewer"),
    )
    html = page_at(app.test_client(), runtime, f"/resident/permits/{permit.id}")
    assert ">已中止<" in html and "身份信息核查中" in html and "未按期签注" not in html
    assert ENDORSE_BUTTON not in html and 'id="late-explanation"' not in html
    assert "中止使用" in _history_rows(html)[0]


def test_resident_chooses_reminders_and_bad_choices_are_named(app, runtime, permit):
    client = app.test_client()
    url = f"/resident/permits/{permit.id}"
    html = page_at(client, runtime, url)
    assert re.search(r'value="endorsement_due" checked', html) and not re.search(r'value="week_before" checked', html)
    saved = client.post(
        f"{url}/reminders", data={"csrf_token": csrf_of(html), "reminders": ["week_before", "after_suspension"]}
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("?done=reminders")
    html = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "提醒设置已保存" in html
    assert re.search(r'value="week_before" checked', html) and re.search(r'value="after_suspension" checked', html)
    assert not re.search(r'value="endorsement_due" checked', html)
    bad = client.post(f"{url}/reminders", data={"csrf_token": csrf_of(html), "reminders": ["hourly", "weekly"]})
    bad_html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请修改以下 2 处问题" in bad_html and "未知的提醒类型" in bad_html


def test_another_residents_permit_forms_are_404(app, runtime, permit):
    client = app.test_client()
    html = page_at(client, runtime, "/resident/home", phone="13900000052")
    token = csrf_of(html)
    assert client.get(f"/resident/permits/{permit.id}").status_code == 404
    assert client.post(f"/resident/permits/{permit.id}/endorsement", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(
            f"/resident/permits/{permit.id}/reminders", data={"csrf_token": token, "reminders": ["week_before"]}
        ).status_code
        == 404
    )


def test_clerk_finds_the_permit_in_the_queue_and_endorses_at_the_window(app, runtime, clock, permit):
    clock.set(beijing(2027, 11, 20))
    add_officer(runtime, "clerk1", "clerk")
    client = app.test_client()
    assert officer_login(client, runtime, "clerk1", None).status_code == 302
    queue = client.get("/officer/permits?queue=window_open").get_data(as_text=True)
    assert '<a href="/officer/permits">证件签注</a>' in queue  # in the officer navigation
    assert permit.permit_no in queue and "签注办理期：2027年10月30日至2027年11月29日" in queue
    assert "没有因未按期签注而中止的证件" in client.get("/officer/permits?queue=suspended").get_data(as_text=True)

    page = client.get(f"/officer/permits/{permit.permit_no}").get_data(as_text=True)
    assert ENDORSE_BUTTON in page and "变更状态" not in page  # a clerk cannot revoke
    done = client.post(f"/officer/permits/{permit.permit_no}/endorsement", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 302 and done.headers["Location"].endswith("?done=endorsed")
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已办理签注" in html and "签注（第 2 版）" in html and "签注办理期：2028年10月30日至2028年11月29日" in html
    assert permit.permit_no not in client.get("/officer/permits?queue=window_open").get_data(as_text=True)


def test_suspended_queue_and_reviewer_status_change_on_the_permit_page(app, runtime, clock, permit):
    clock.set(beijing(2027, 12, 1, 9, 0))
    assert run_sweep(runtime.collaborators).suspended == 1
    seed = add_officer(runtime, "rev1", "reviewer")
    client = app.test_client()
    assert officer_login(client, runtime, "rev1", seed).status_code == 302
    queue = client.get("/officer/permits?queue=suspended").get_data(as_text=True)
    assert permit.permit_no in queue and "已中止（未按期签注）" in queue and "2027年12月1日中止" in queue

    url = f"/officer/permits/{permit.permit_no}"
    page = client.get(url).get_data(as_text=True)
    assert "已中止（未按期签注）" in page and ENDORSE_BUTTON not in page  # window endorsement is the clerk's
    missing = client.post(f"{url}/status", data={"csrf_token": csrf_of(page), "action": "revoke", "reason": ""})
    assert missing.status_code == 400 and "error-summary" in missing.get_data(as_text=True)
    done = client.post(
        f"{url}/status", data={"csrf_token": csrf_of(page), "action": "revoke", "reason": "冒用他人身份"}
    )
    assert done.status_code == 302
    html = client.get(done.headers["Location"]).get_data(as_text=True)
    assert ">已吊销<" in html and "冒用他人身份" in html and "签注办理期" not in html
    assert _history_rows(html)[0][1:] == ["吊销", "冒用他人身份"]


def test_permit_forms_refuse_a_missing_csrf_token(app, runtime, clock, permit):
    clock.set(beijing(2027, 11, 2))
    client = app.test_client()
    page_at(client, runtime, f"/resident/permits/{permit.id}")
    for action in ("endorsement", "reminders"):
        refused = client.post(f"/resident/permits/{permit.id}/{action}", data={"reminders": ["week_before"]})
        assert refused.status_code in (400, 403), action
    add_officer(runtime, "clerk2", "clerk")
    officer = app.test_client()
    officer_login(officer, runtime, "clerk2", None)
    assert officer.post(f"/officer/permits/{permit.permit_no}/endorsement").status_code in (400, 403)
    # nothing was endorsed
    html = client.get(f"/resident/permits/{permit.id}").get_data(as_text=True)
    assert "首次签发" in html and "第 2 版" not in html


def _history_rows(html: str) -> list[list[str]]:
    table = html.split('id="permit-history"', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr><td>.*?</tr>", table)]
