"""Whole journeys in real Chromium against the real apps (issue 6).

1. A resident applies online with a proof, a reviewer (password + TOTP) approves, the
   resident opens the e-permit, and the verifier page reads a SCREENSHOT of its QR and says
   green for compulsory_education; the resident then sees the school in the verification list.
2. A second application is rejected and the resident sees every reason with what to do.
3. A clerk enters an application at the window with a scanned paper proof.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil

import pyotp
import pytest
from PIL import Image

from tests.core.web.pages.browser_stack import (
    CHROMIUM_ARGS,
    VIEWPORTS,
    ServerThread,
    Stack,
    chromium,
    field,
    free_port,
    shoot,
    y4m_of,
)
from tests.core.web.pages.pagekit import PASSWORD, add_officer
from tests.core.workflow_helpers import APPLICANT_ID
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]

REJECTED_ID = make_id("19850512", seq="456")
WINDOW_ID = make_id("19700101", address="510107", seq="789")


def png(color: str = "navy", size=(320, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, sqlite_template, chromium_executable):
    from govcred.core.clock import Clock
    from govcred.core.web import create_app
    from govcred.plugins.zhejiang_residence.configured import configured
    from govcred.testing import make_runtime, make_settings
    from govcred.verifier.app import VerifierConfig
    from govcred.verifier.app import create_app as create_verifier_app
    from govcred.verifier.db import add_client
    from govcred.verifier.trust import parse_trust

    root = tmp_path_factory.mktemp("browser")
    data = root / "var"
    data.mkdir()
    shutil.copy(sqlite_template, root / "govcred.sqlite3")
    port = free_port()
    settings = make_settings(data, f"sqlite:///{root / 'govcred.sqlite3'}", issuer=f"http://127.0.0.1:{port}")
    rt = make_runtime(settings, Clock())
    rt.keystore.ensure_key()
    today = rt.clock.today_beijing()
    long_ago, lately = today - dt.timedelta(days=300), today - dt.timedelta(days=20)
    configured(rt.pm).import_people(
        {
            APPLICANT_ID: {"registrations": [{"division": "331121", "declared": long_ago, "ended": None}]},
            REJECTED_ID: {"registrations": [{"division": "331121", "declared": lately, "ended": None}]},
            WINDOW_ID: {"registrations": [{"division": "331121", "declared": long_ago, "ended": None}]},
        },
        rt.clock.now(),
    )
    issuer_app = create_app(runtime=rt)
    issuer = ServerThread(issuer_app, port)
    s = Stack(rt=rt, issuer=issuer, issuer_app=issuer_app)

    trust = parse_trust(
        {
            "benefit_plugins": ["zhejiang_residence"],
            "issuer": [{"iss": issuer.url, "name": "青田县公安局", "jwks": f"{issuer.url}/.well-known/jwks.json"}],
        }
    )
    s.verifier_app = create_verifier_app(
        VerifierConfig(trust=trust, data_dir=root / "verifier", background_refresh=False)
    )
    s.verifier_key = add_client(s.verifier_app.extensions["verifier"].engine, "青田县实验小学", now=rt.clock.now())
    s.verifier = ServerThread(s.verifier_app, free_port())
    issuer_app.config["VERIFIER_URLS"] = [s.verifier.url]

    with chromium(chromium_executable) as browser:
        s.browser = browser
        yield s
    s.verifier.stop()
    issuer.stop()
    rt.close()


def new_page(stack, viewport="phone"):
    context = stack.browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(15_000)
    return context.new_page()


def resident_login(page, stack, phone: str, shots: str | None = None):
    page.goto(stack.issuer.url + "/")
    if shots:
        shoot(page, f"{shots}-home", stack)
    page.click("text=我要办理居住证")
    page.wait_for_url("**/resident/login")
    if shots:
        shoot(page, f"{shots}-resident-login", stack)
    page.fill(field("phone"), phone)
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector(field("code"))
    if shots:
        shoot(page, f"{shots}-resident-code", stack)
    page.fill(field("code"), stack.latest_sms_code())
    page.click("button:has-text('登录')")
    page.wait_for_url("**/resident/home")
    if shots:
        shoot(page, f"{shots}-resident-home", stack)


def fill_application(page, *, name: str, id_number: str, phone: str, division: str = "331121"):
    page.fill(field("applicant.name"), name)
    page.fill(field("applicant.id_number"), id_number)
    page.fill(field("applicant.phone"), phone)
    page.fill(field("applicant.hukou_division"), "330102")
    page.fill(field("applicant.hukou_address"), "杭州市上城区某路1号")
    page.fill(field("residence.division"), division)
    page.fill(field("residence.address"), "青田县鹤城街道某路2号")
    page.select_option(field("conditions[0].proof"), "registered_rental_contract")
    page.fill(field("conditions[0].division"), division)
    page.fill(field("conditions[0].since"), "2026-01-01")


def upload_proof(page, name="rental-contract.png"):
    target = field("conditions[0].attachments")
    before = page.locator("[data-upload-field='conditions[0].attachments'] .upload-list li").count()
    page.set_input_files(target, files=[{"name": name, "mimeType": "image/png", "buffer": png()}])
    page.wait_for_function(
        "n => document.querySelectorAll(\"[data-upload-field='conditions[0].attachments'] .upload-list li\").length > n",
        arg=before,
    )


def reviewer_login(page, stack, username: str, seed: str):
    page.goto(stack.issuer.url + "/officer/login")
    page.fill(field("username"), username)
    page.fill(field("password"), PASSWORD)
    page.fill(field("totp"), pyotp.TOTP(seed).now())
    page.click("button:has-text('登录')")


def test_apply_approve_show_and_verify_a_screenshot(stack, tmp_path, chromium_executable):
    page = new_page(stack)
    resident_login(page, stack, "13900001111", shots="01")
    page.click("text=我要申请居住证")
    page.wait_for_url("**/resident/apply")
    page.click("button:has-text('同意并继续')")  # not ticked: refused with a clear error
    assert "勾选" in page.inner_text(".error-summary")
    shoot(page, "02-notice-not-accepted", stack)
    page.check(field("accept"))
    page.click("button:has-text('同意并继续')")
    page.wait_for_url("**/resident/apply/form")
    shoot(page, "03-form", stack)

    page.fill(field("applicant.phone"), "12345")
    page.click("button:has-text('下一步')")
    summary = page.locator(".error-summary li")
    assert summary.count() >= 4  # every problem at once: name, ID, phone, hukou, address ...
    listed = page.inner_text(".error-summary")
    assert "手机号码：" in listed and "姓名：" in listed and "公民身份号码：" in listed  # each names its field
    # forms.js (deferred) moves the focus once the page has loaded; wait for it, as a reader would
    page.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'", timeout=10_000)
    page.click(".error-summary a[href='#f-applicant-phone']")
    assert page.evaluate("document.activeElement.id") == "f-applicant-phone"
    shoot(page, "04-form-errors", stack)

    fill_application(page, name="张三明", id_number=APPLICANT_ID, phone="13900001111")
    # the script refuses a wrong type before sending anything
    page.set_input_files(
        field("conditions[0].attachments"),
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a proof"}],
    )
    assert "不是 JPG、PNG 或 PDF" in page.inner_text("[data-upload-field='conditions[0].attachments'] .upload-error")
    upload_proof(page)
    # the condition's own list: the form has other upload fields now (the agent's proof of relation)
    assert "已上传：rental-contract.png" in page.inner_text(
        "[data-upload-field='conditions[0].attachments'] .upload-list"
    )
    shoot(page, "05-form-filled", stack)
    page.click("button:has-text('下一步')")
    page.wait_for_url("**/resident/apply/confirm")
    assert "张三明" in page.inner_text("main") and "rental-contract.png" in page.inner_text("main")
    shoot(page, "06-confirm", stack)
    page.click("button:has-text('确认提交')")
    page.wait_for_url("**/resident/applications/*")
    status_url = page.url
    assert page.inner_text("#app-state") == "已受理，审核中"
    assert "个工作日" in page.inner_text("#countdown") or "今日办结" in page.inner_text("#countdown")
    shoot(page, "07-status-accepted", stack)

    seed = add_officer(stack.rt, "reviewer-a", "reviewer")
    officer_page = new_page(stack, "desktop")
    reviewer_login(officer_page, stack, "reviewer-a", seed)
    officer_page.wait_for_url("**/officer/")
    shoot(officer_page, "08-review-queue", stack)
    officer_page.click("text=张*明")
    officer_page.wait_for_url("**/officer/applications/*")
    assert "全部规则核查通过" in officer_page.inner_text("#findings")
    assert officer_page.evaluate("document.querySelector('.proof-image').naturalWidth") == 320
    shoot(officer_page, "09-review-application", stack)
    officer_page.click("button:has-text('批准并签发')")
    officer_page.wait_for_selector("#credential-status")
    assert officer_page.inner_text("#app-state") == "已批准"
    shoot(officer_page, "10-review-approved", stack)

    page.goto(status_url)
    assert page.inner_text("#app-state") == "已批准"
    page.click("text=查看电子居住证")
    page.wait_for_url("**/resident/permits/*")
    credential_id = page.url.rsplit("/", 1)[1]
    page.clock.install()  # the page's timers run on a clock the test moves
    page.reload()
    page.wait_for_function("document.getElementById('presentation-qr').naturalWidth > 0")
    assert page.get_attribute("#presentation-qr", "data-refreshed") is None
    page.clock.run_for((stack.rt.settings.presentation_seconds - 10) * 1000)
    # (wait_for_function polls through eval, which our CSP forbids once the clock is installed)
    for _ in range(100):
        if page.evaluate(
            "document.getElementById('presentation-qr').src.startsWith('blob:') "
            "&& document.getElementById('presentation-qr').naturalWidth > 0"
        ):
            break
        page.clock.run_for(100)
        page.wait_for_timeout(100)
    else:
        pytest.fail("the presentation QR was not refreshed before it expired")
    assert "自动更新" in page.inner_text("#qr-countdown")  # a fresh one was fetched before the old expired
    shoot(page, "11-e-permit", stack)
    static_png = page.context.request.get(f"{stack.issuer.url}/resident/permits/{credential_id}/qr.png")
    assert static_png.ok and static_png.headers["content-type"] == "image/png"
    assert static_png.headers["content-disposition"].startswith("attachment")

    stack.warm_verifier(credential_id)
    shot = tmp_path / "qr-screenshot.png"
    page.set_viewport_size(VIEWPORTS["phone"])
    page.locator("#presentation-qr").screenshot(path=str(shot))

    school = new_page(stack, "desktop")
    school.goto(stack.verifier.url + "/")
    shoot(school, "12-verifier", stack)
    school.fill("#api-key", stack.verifier_key)
    school.select_option("#benefit", "compulsory_education")
    school.set_input_files("#photo", str(shot))
    card = school.wait_for_selector("#answer-card")
    text = card.inner_text()
    assert card.get_attribute("data-valid") == "true", text
    assert "有效" in text and "张*明" in text and "可以享受" in text
    assert APPLICANT_ID not in text and APPLICANT_ID[-4:] in text  # masked ID to compare with the card
    assert "answer-green" in card.get_attribute("class")
    shoot(school, "13-verifier-green", stack)

    page.reload()
    page.wait_for_selector("#verifications li")
    assert "青田县实验小学" in page.inner_text("#verifications")
    shoot(page, "14-e-permit-verified-by", stack)

    # a screenshot of the QR goes stale: a pasted old presentation is refused once expired
    school.fill("#qr-text", "GC1:/" + "0" * 40)
    school.click("button:has-text('核验粘贴的内容')")
    school.wait_for_selector("#answer-card[data-valid='false']")
    assert "answer-red" in school.get_attribute("#answer-card", "class")
    assert "无法识别" in school.inner_text("#answer-card")
    shoot(school, "15-verifier-red", stack)

    # the device camera: Chromium's fake camera shows the same QR; frames go to the server
    page.locator("#presentation-qr").screenshot(path=str(shot))
    clip = y4m_of(shot, tmp_path / "camera.y4m")
    camera_browser = stack.browser.browser_type.launch(
        executable_path=str(chromium_executable),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}",
        ],
    )
    try:
        context = camera_browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN", permissions=["camera"])
        counter = context.new_page()
        counter.goto(stack.verifier.url + "/")
        counter.fill("#api-key", stack.verifier_key)
        counter.select_option("#benefit", "public_health")
        counter.click("#start-camera")
        card = counter.wait_for_selector("#answer-card", timeout=30_000)
        assert card.get_attribute("data-valid") == "true", card.inner_text()
        assert "张*明" in card.inner_text() and "可以享受" in card.inner_text()
        assert counter.is_hidden("#camera")  # the camera is released once a QR was read
        shoot(counter, "16-verifier-camera-green", stack)
    finally:
        camera_browser.close()


def test_rejection_shows_every_reason_with_what_to_do(stack):
    page = new_page(stack)
    resident_login(page, stack, "13900002222")
    page.goto(stack.issuer.url + "/resident/apply")
    page.check(field("accept"))
    page.click("button:has-text('同意并继续')")
    fill_application(page, name="李四", id_number=REJECTED_ID, phone="13900002222", division="330106")
    upload_proof(page)
    page.click("button:has-text('下一步')")
    page.click("button:has-text('确认提交')")
    page.wait_for_url("**/resident/applications/*")
    status_url = page.url

    seed = add_officer(stack.rt, "reviewer-b", "reviewer")
    officer_page = new_page(stack, "desktop")
    reviewer_login(officer_page, stack, "reviewer-b", seed)
    officer_page.click("text=李*")
    officer_page.wait_for_url("**/officer/applications/*")
    findings = officer_page.inner_text("#findings")
    assert "不符合" in findings
    assert officer_page.locator("button:has-text('批准并签发')").count() == 0  # blocking findings: approval not offered
    blocking = officer_page.locator("#decision-form fieldset input[type=checkbox]:checked").count()
    assert blocking >= 2
    officer_page.fill(field("reasons"), "租赁合同未在住建部门登记备案")
    shoot(officer_page, "20-review-blocking-findings", stack)
    officer_page.click("button:has-text('不予批准')")
    officer_page.wait_for_function("document.getElementById('app-state').textContent === '不予批准'")

    page.goto(status_url)
    assert page.inner_text("#app-state") == "不予批准"
    reasons = page.locator("#reasons > li")
    texts = [reasons.nth(i).inner_text() for i in range(reasons.count())]
    joined = "\n".join(texts)
    assert reasons.count() == blocking + 1
    assert "租赁合同未在住建部门登记备案" in joined
    assert all("怎么办" in t for t in texts), texts  # every reason says what to do about it
    assert "六个月" in joined and "青田县" in joined
    hints = page.locator("#hints > li")  # the per-condition findings too, each with what to do
    assert hints.count() >= 1
    assert all("怎么办" in hints.nth(i).inner_text() for i in range(hints.count()))
    shoot(page, "21-status-rejected", stack)


def test_clerk_enters_an_application_at_the_window(stack):
    add_officer(stack.rt, "clerk-a", "clerk")
    page = new_page(stack, "desktop")
    page.goto(stack.issuer.url + "/officer/login")
    shoot(page, "30-officer-login", stack)
    page.fill(field("username"), "clerk-a")
    page.fill(field("password"), PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/officer/intake")
    shoot(page, "31-window-intake", stack)
    page.click("button:has-text('核对信息')")  # nothing filled: every problem at once, incl. the signature
    assert "纸质告知承诺书" in page.inner_text(".error-summary")
    fill_application(page, name="王五", id_number=WINDOW_ID, phone="13900003333")
    page.fill(field("applicant.hukou_division"), "510107")
    upload_proof(page, "scan-of-paper-contract.png")
    page.check(field("commitment_signed"))
    page.click("button:has-text('核对信息')")
    page.wait_for_load_state()
    assert page.locator(".error-summary").count() == 0, page.inner_text(".error-summary")
    page.wait_for_url("**/officer/intake/confirm")
    assert "scan-of-paper-contract.png" in page.inner_text("main")
    shoot(page, "32-window-confirm", stack)
    page.click("button:has-text('确认提交')")
    page.wait_for_url("**/officer/applications/*")
    assert page.inner_text("#app-state") == "已受理，审核中"
    assert "窗口受理" in page.inner_text("main")
    assert page.locator("button:has-text('批准并签发')").count() == 0  # clerks do not decide
    shoot(page, "33-window-accepted", stack)
