"""The verifier page in Chromium, as counter staff use it: their own mistakes (no key entered,
nothing pasted, a photo without a QR, a wrong key) get a notice saying what to do, never the
red "✘ 无效" card; a static permit QR is green and tells them to check the ID card."""

from __future__ import annotations

import pytest
from PIL import Image

from govcred.verifier.app import create_app
from govcred.verifier.db import add_client
from tests.core.credential_rows import make_credential
from tests.core.web.pages.browser_stack import chromium
from tests.verifier.issuers import publish, trust_of
from tests.verifier.test_refresh_http import Served

pytestmark = pytest.mark.browser


def test_operator_mistakes_are_notices_and_a_static_qr_says_check_the_id_card(
    sqlite_runtime, tmp_path, chromium_executable
):
    rt = sqlite_runtime
    from govcred.core.clock import utcnow

    rt.clock.set(utcnow())
    cred = make_credential(rt)
    app = create_app({"trust": trust_of(publish(rt, tmp_path / "trust")), "data_dir": tmp_path / "v", "clock": rt.clock, "background_refresh": False})  # fmt: skip
    key = add_client(app.extensions["verifier"].engine, "青田县实验小学", now=rt.clock.now())
    blank = tmp_path / "blank.png"
    Image.new("RGB", (400, 300), "white").save(blank)
    served = Served(app)
    try:
        with chromium(chromium_executable) as browser:
            page = browser.new_page(locale="zh-CN")
            page.goto(f"http://127.0.0.1:{served.port}/")

            def shows(words: str) -> None:
                # polled from here: wait_for_function evaluates a string, which the page's CSP forbids
                for _ in range(100):
                    if page.query_selector("#answer-card") and words in page.inner_text("#answer-card"):
                        return
                    page.wait_for_timeout(100)
                raise AssertionError(f"the card never said {words!r}: {page.inner_text('#answer')}")

            def card():
                element = page.wait_for_selector("#answer-card")
                return element.get_attribute("class"), element.inner_text()

            page.click("button:has-text('核验粘贴的内容')")  # no key entered yet
            cls, text = card()
            assert "answer-notice" in cls and "无效" not in text and "接入密钥" in text

            page.fill("#api-key", key)
            page.dispatch_event("#api-key", "change")
            page.click("button:has-text('核验粘贴的内容')")  # nothing pasted
            shows("还没有粘贴内容")
            cls, text = card()
            assert "answer-notice" in cls and "无效" not in text

            page.set_input_files("#photo", str(blank))  # a photo without a QR
            shows("没有找到二维码")
            assert "无效" not in card()[1]

            page.fill("#api-key", key[:-3] + "xyz")  # a wrong key
            page.fill("#qr-text", cred.token)
            page.click("button:has-text('核验粘贴的内容')")
            shows("密钥无效")
            assert "answer-notice" in card()[0]

            page.fill("#api-key", key)
            page.click("button:has-text('核验粘贴的内容')")  # the permit's static QR text
            page.wait_for_selector("#answer-card[data-valid='true']")
            cls, text = card()
            assert "answer-green" in cls and "静态二维码" in text and "居民身份证" in text
    finally:
        served.stop()
