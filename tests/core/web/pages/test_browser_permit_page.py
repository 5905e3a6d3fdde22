"""The resident's permit page in real Chromium: inside the endorsement window the page shows
the window and the 申请签注 button; endorsing shows the new version in the history. A clerk
finds the permit in the queue. Every page is screenshotted at phone and desktop width (each
must fit 360 px).

The issuer runs on a FixedClock (moved to the window, eleven months after issue), so this
journey has its own server rather than the shared real-time stack of test_browser_journeys."""

from __future__ import annotations

import shutil

import pytest

from tests.core.permits import beijing, issue_permit
from tests.core.web.pages.browser_stack import VIEWPORTS, ServerThread, Stack, chromium, field, free_port, shoot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]

PHONE = "13900004444"


@pytest.fixture
def stack(tmp_path, sqlite_template, chromium_executable):
    from govcred.core.clock import FixedClock
    from govcred.core.web import create_app
    from govcred.testing import make_runtime, make_settings

    data = tmp_path / "var"
    data.mkdir()
    shutil.copy(sqlite_template, tmp_path / "govcred.sqlite3")
    port = free_port()
    settings = make_settings(data, f"sqlite:///{tmp_path / 'govcred.sqlite3'}", issuer=f"http://127.0.0.1:{port}")
    rt = make_runtime(settings, FixedClock(beijing(2026, 11, 30)))
    rt.keystore.ensure_key()
    app = create_app(runtime=rt)
    s = Stack(rt=rt, issuer=ServerThread(app, port), issuer_app=app)
    with chromium(chromium_executable) as browser:
        s.browser = browser
        yield s
    s.issuer.stop()
    rt.close()


def test_resident_endorses_on_the_permit_page(stack):
    permit = issue_permit(stack.rt, owner_phone=PHONE)
    stack.rt.clock.set(beijing(2027, 11, 2))
    context = stack.browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{stack.issuer.url}/resident/permits/{permit.id}")
    page.wait_for_url("**/resident/login?**")
    page.fill(field("phone"), PHONE)
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector(field("code"))
    page.fill(field("code"), stack.latest_sms_code())
    page.click("button:has-text('登录')")
    page.wait_for_url(f"**/resident/permits/{permit.id}")

    assert page.inner_text("#permit-status") == "有效"
    assert "签注办理期：2027年10月30日至2027年11月29日" in page.inner_text("#endorsement-window")
    assert page.locator("#endorse-button").is_enabled()
    shoot(page, "40-permit-endorsement-window", stack)

    page.click("#endorse-button")
    page.wait_for_selector("#done")
    assert "签注已办理" in page.inner_text("#done")
    assert "2028年10月30日至2028年11月29日" in page.inner_text("#endorsement-window")
    assert page.locator("#endorse-button").count() == 0
    first_row = page.locator("#permit-history tbody tr").first.inner_text()
    assert "签注（第 2 版）" in first_row and "2027年11月2日" in first_row
    shoot(page, "41-permit-endorsed", stack)
    context.close()


def test_clerk_sees_the_permit_queue_and_page(stack):
    from tests.core.web.pages.pagekit import PASSWORD, add_officer

    permit = issue_permit(stack.rt, owner_phone=PHONE)
    stack.rt.clock.set(beijing(2027, 11, 2))
    add_officer(stack.rt, "clerk-p", "clerk")
    context = stack.browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{stack.issuer.url}/officer/login")
    page.fill(field("username"), "clerk-p")
    page.fill(field("password"), PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/officer/intake")
    page.click("nav >> text=证件签注")
    page.wait_for_url("**/officer/permits")
    assert "签注办理期：2027年10月30日至2027年11月29日" in page.inner_text("#permit-queue")
    shoot(page, "42-officer-permit-queue", stack)
    page.click(f"#permit-queue >> text={permit.permit_no}")
    page.wait_for_url(f"**/officer/permits/{permit.permit_no}")
    assert page.locator("#endorse-button").is_enabled()
    shoot(page, "43-officer-permit", stack)
    context.close()
