"""The administrators' operations page in real Chromium, over a seeded year of applications:
charts render (server-side SVG), every figure in its tables equals ``govcred report`` for the
same period, and the page fits a phone. Screenshots at phone and desktop width."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from govcred.core.clock import BEIJING
from tests.core.report_fixture import seed_year
from tests.core.web.pages.browser_stack import VIEWPORTS, ServerThread, Stack, chromium, field, free_port, shoot
from tests.core.web.pages.pagekit import PASSWORD, add_officer, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST, LAST = "2026-01-01", "2026-12-31"


def _flatten(figures: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = "—" if value is None else str(value)
    return out


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
    # the first working morning after the seeded year
    rt = make_runtime(settings, FixedClock(dt.datetime(2027, 1, 4, 10, 0, tzinfo=BEIJING)))
    rt.keystore.ensure_key()
    seed_year(rt, 600)
    app = create_app(runtime=rt)
    s = Stack(rt=rt, issuer=ServerThread(app, port), issuer_app=app)
    with chromium(chromium_executable) as browser:
        s.browser = browser
        yield s
    s.issuer.stop()
    rt.close()


def test_the_operations_page_draws_the_report(stack):
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli

    seed = add_officer(stack.rt, "chief", "admin")
    context = stack.browser.new_context(viewport=VIEWPORTS["desktop"], locale="zh-CN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(stack.issuer.url + "/officer/login")
    page.fill(field("username"), "chief")
    page.fill(field("password"), PASSWORD)
    page.fill(field("totp"), totp_code(seed, stack.rt))
    page.click("button:has-text('登录')")
    page.click("nav >> text=运行情况")
    page.fill(field("from"), FIRST)
    page.fill(field("to"), LAST)
    page.click("button:has-text('查看')")
    page.wait_for_selector("#table-deadlines")
    assert page.locator("h1").inner_text() == "运行情况"

    # every chart is a drawn SVG image, not a broken one
    charts = page.locator("img.chart")
    sizes = []
    for i in range(charts.count()):  # (the page's CSP forbids eval, so no wait_for_function)
        charts.nth(i).scroll_into_view_if_needed()
        sizes.append(charts.nth(i).evaluate("i => i.decode().then(() => [i.alt, i.naturalWidth], () => [i.alt, 0])"))
    assert len(sizes) == 4 and all(width > 0 for _alt, width in sizes), sizes

    # every figure on the page is the command line's figure for the same period
    obj = AppContext(str(stack.rt.settings.data_dir))
    obj.settings, obj.runtime = stack.rt.settings, stack.rt
    result = CliRunner().invoke(build_cli(stack.rt.pm), ["report", "--from", FIRST, "--to", LAST, "--json"], obj=obj)
    expected = _flatten(json.loads(result.output))
    shown = dict(
        page.evaluate("[...document.querySelectorAll('[data-figure]')].map(c => [c.dataset.figure, c.innerText])")
    )
    assert shown and set(shown) <= set(expected)
    assert {name: expected[name] for name in shown} == shown
    assert {"applications.submitted", "deadlines.decided_late", "working_days_to_decision.p90"} <= set(shown)
    assert int(shown["applications.submitted"]) == 600
    reasons = page.locator("#table-reasons tbody tr").all_inner_texts()
    assert any("居住登记不满六个月" in row for row in reasons)
    shoot(page, "operations", stack)

    # a mistyped period is named on the page, not a server error
    page.goto(stack.issuer.url + "/officer/operations/?from=2026-02-30&to=2026-01-01")
    assert "开始日期" in page.locator("#error-summary").inner_text()
    context.close()
