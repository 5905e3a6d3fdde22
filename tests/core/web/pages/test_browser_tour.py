"""The README tour in real Chromium: the shipped register extract imported as `govcred records
import` does, the shipped application's values typed into the form, the reviewer approves, and
the verifier page turns a screenshot of the permit's QR into a green card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.core.web.pages.browser_stack import VIEWPORTS, field, shoot
from tests.core.web.pages.pagekit import add_officer
from tests.core.web.pages.test_browser_journeys import (  # noqa: F401 (stack is a fixture)
    new_page,
    png,
    resident_login,
    reviewer_login,
    stack,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOUR = Path(__file__).resolve().parents[4] / "examples" / "tour"


def test_the_readme_tour_reaches_an_approved_permit_and_a_green_verification(stack, tmp_path):
    from govcred.plugins.zhejiang_residence.configured import configured
    from govcred.plugins.zhejiang_residence.records_import import parse_file

    rt = stack.rt
    configured(rt.pm).import_people(parse_file(TOUR / "records.csv", rt.clock.today_beijing()), rt.clock.now())
    sample = json.loads((TOUR / "application.json").read_text(encoding="utf-8"))
    applicant, work = sample["applicant"], sample["conditions"][0]

    page = new_page(stack)
    resident_login(page, stack, applicant["phone"])
    page.click("text=我要申请居住证")
    page.check(field("accept"))
    page.click("button:has-text('同意并继续')")
    page.wait_for_url("**/resident/apply/form")
    for name in ("name", "id_number", "phone", "hukou_division", "hukou_address"):
        page.fill(field(f"applicant.{name}"), applicant[name])
    page.fill(field("residence.division"), sample["residence"]["division"])
    page.fill(field("residence.address"), sample["residence"]["address"])
    page.select_option(field("conditions[1].proof"), work["proof"])
    for name in ("employer", "employer_uscc", "division", "since"):
        page.fill(field(f"conditions[1].{name}"), work[name])
    page.set_input_files(
        field("conditions[1].attachments"), files=[{"name": "劳动合同.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.locator("[data-upload-field='conditions[1].attachments'] .upload-list li").first.wait_for()
    page.click("button:has-text('下一步')")
    page.wait_for_url("**/resident/apply/confirm")
    page.click("button:has-text('确认提交')")
    page.wait_for_url("**/resident/applications/*")
    status_url = page.url
    assert page.inner_text("#app-state") == "已受理，审核中"

    seed = add_officer(rt, "tour-reviewer", "reviewer")
    officer_page = new_page(stack, "desktop")
    reviewer_login(officer_page, stack, "tour-reviewer", seed)
    officer_page.wait_for_url("**/officer/")
    officer_page.click("text=王*明")
    officer_page.wait_for_url("**/officer/applications/*")
    assert "全部规则核查通过" in officer_page.inner_text("#findings")
    officer_page.click("button:has-text('批准并签发')")
    officer_page.wait_for_selector("#credential-status")
    assert officer_page.inner_text("#app-state") == "已批准"

    page.goto(status_url)
    page.click("text=查看电子居住证")
    page.wait_for_url("**/resident/permits/*")
    credential_id = page.url.rsplit("/", 1)[1]
    page.wait_for_function("document.getElementById('presentation-qr').naturalWidth > 0")
    shoot(page, "60-tour-e-permit", stack)
    stack.warm_verifier(credential_id)
    shot = tmp_path / "qr.png"
    page.set_viewport_size(VIEWPORTS["phone"])
    page.locator("#presentation-qr").screenshot(path=str(shot))

    school = new_page(stack, "desktop")
    school.goto(stack.verifier.url + "/")
    school.fill("#api-key", stack.verifier_key)
    school.select_option("#benefit", "compulsory_education")
    school.set_input_files("#photo", str(shot))
    card = school.wait_for_selector("#answer-card")
    assert card.get_attribute("data-valid") == "true", card.inner_text()
    assert "王*明" in card.inner_text()
    shoot(school, "61-tour-verifier-green", stack)
