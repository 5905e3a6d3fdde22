"""Real-name sign-in in real Chromium (issue 11): the resident leaves the log-in page for the
test OpenID Connect provider (Authlib's server components on 127.0.0.1), comes back signed
in, applies, and the form shows the name and ID number from the identity, read-only; a
tampered ID token lands on a clear Chinese refusal page."""

from __future__ import annotations

import shutil

import pytest

from govcred.testing.oidc_provider import CALLBACK_PATH, OidcTestProvider
from tests.core.web.pages.browser_stack import ServerThread, Stack, chromium, field, free_port, shoot
from tests.core.web.pages.test_browser_journeys import new_page, upload_proof
from tests.core.workflow_helpers import APPLICANT_ID

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, sqlite_template, chromium_executable):
    from govcred.core.clock import Clock
    from govcred.core.web import create_app
    from govcred.testing import make_runtime, make_settings

    root = tmp_path_factory.mktemp("browser-identity")
    data = root / "var"
    data.mkdir()
    shutil.copy(sqlite_template, root / "govcred.sqlite3")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    provider = OidcTestProvider(redirect_uris=[issuer + CALLBACK_PATH]).start()
    provider.person.id_number = APPLICANT_ID
    settings = make_settings(
        data, f"sqlite:///{root / 'govcred.sqlite3'}", issuer=issuer, identity=provider.identity_table()
    )
    rt = make_runtime(settings, Clock())
    rt.keystore.ensure_key()
    issuer_app = create_app(runtime=rt)
    s = Stack(rt=rt, issuer=ServerThread(issuer_app, port), issuer_app=issuer_app)
    s.provider = provider
    with chromium(chromium_executable) as browser:
        s.browser = browser
        yield s
    s.issuer.stop()
    provider.stop()
    rt.close()


def real_name_login(page, stack, shots: str | None = None):
    page.goto(stack.issuer.url + "/resident/login")
    if shots:
        shoot(page, f"{shots}-login", stack)
    page.click("text=浙里办实名登录")


def test_sign_in_through_the_provider_apply_and_see_the_identity_read_only(stack):
    page = new_page(stack)
    real_name_login(page, stack, shots="31-identity")
    page.wait_for_url("**/resident/home")
    shoot(page, "32-identity-home", stack)
    page.click("text=我要申请居住证")
    page.wait_for_url("**/resident/apply")
    page.check(field("accept"))
    page.click("button:has-text('同意并继续')")
    page.wait_for_url("**/resident/apply/form")

    assert "您已通过实名认证登录" in page.inner_text("#identity-box")
    assert page.input_value(field("applicant.name")) == "张三明"
    assert page.input_value(field("applicant.id_number")) == APPLICANT_ID
    assert not page.locator(field("applicant.name")).is_editable()
    assert not page.locator(field("applicant.id_number")).is_editable()
    page.press(field("applicant.name"), "End")
    page.keyboard.type("改")  # typing into a read-only field changes nothing
    assert page.input_value(field("applicant.name")) == "张三明"
    shoot(page, "33-identity-form", stack)

    page.fill(field("applicant.phone"), "13900007777")
    page.fill(field("applicant.hukou_division"), "330102")
    page.fill(field("applicant.hukou_address"), "杭州市上城区某路1号")
    page.fill(field("residence.division"), "331121")
    page.fill(field("residence.address"), "青田县鹤城街道某路2号")
    page.select_option(field("conditions[0].proof"), "registered_rental_contract")
    page.fill(field("conditions[0].division"), "331121")
    page.fill(field("conditions[0].since"), "2026-01-01")
    upload_proof(page)
    page.click("button:has-text('下一步')")
    page.wait_for_url("**/resident/apply/confirm")
    main = page.inner_text("main")
    assert "张三明" in main
    shoot(page, "34-identity-confirm", stack)
    page.click("button:has-text('确认提交')")
    page.wait_for_url("**/resident/applications/*")
    shoot(page, "35-identity-status", stack)
    app_id = page.url.rsplit("/", 1)[1]
    with stack.rt.uow(readonly=True) as uow:
        stored = uow.applications.get(app_id)
    assert stored.document["applicant"]["name"] == "张三明"
    assert stored.document["applicant"]["id_number"] == APPLICANT_ID
    assert stored.identity["source"] == "oidc"


def test_a_tampered_id_token_lands_on_a_clear_refusal_page(stack):
    page = new_page(stack)
    stack.provider.tamper(nonce="the-nonce-of-another-sign-in")
    real_name_login(page, stack)
    page.wait_for_selector("#identity-refused")
    text = page.inner_text("#identity-refused")
    assert "实名登录未成功" in text and "nonce 不符" in text and "ID_TOKEN_NONCE" in text
    shoot(page, "36-identity-refused", stack)
    page.click("text=重新实名登录")  # and trying again works
    page.wait_for_url("**/resident/home")
