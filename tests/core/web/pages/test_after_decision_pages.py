"""After a decision: the resident sees every finding with what to do and can apply again
from the refused application's data; the officer's result lists rule and officer reasons;
a holder is offered 签注 and 补领 instead of a new application."""

from __future__ import annotations

import pytest

from govcred.core.reference import reference_of
from govcred.core.services import decisions, intake
from govcred.core.web import create_app
from tests.core.web.pages.pagekit import add_officer, csrf_of, officer_login
from tests.core.web.pages.test_application_form import field_value, selected
from tests.core.web.pages.test_resident_pages import login_resident
from tests.core.workflow_helpers import document, import_records, officer, resident, upload

PHONE = "13900000041"


@pytest.fixture
def app(sqlite_runtime):
    return create_app(runtime=sqlite_runtime)


def decided(rt, *, approve: bool, **doc_changes):
    import_records(rt)
    holder = resident(rt, PHONE)
    doc = document([upload(rt, holder)], **doc_changes)
    if not approve:  # a proof outside the county: a per-condition (advisory) finding too
        doc["conditions"][0]["division"] = "330106"
    app = intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")
    reasons = () if approve else ("租赁合同未登记备案",)
    decisions.decide(
        rt.collaborators, app.id, approve=approve, principal=officer(rt, "reviewer", "r1"), officer_reasons=reasons
    )
    return app


def test_a_refusal_shows_every_finding_with_what_to_do_and_reapplying_starts_from_it(app, sqlite_runtime):
    refused = decided(
        sqlite_runtime,
        approve=False,
        residence={"division": "330106", "address": "杭州市西湖区某路3号"},
    )
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    page = client.get(f"/resident/applications/{refused.id}").get_data(as_text=True)
    assert f'<dd id="app-reference">{reference_of(refused.id)}</dd>' in page  # the SMS quotes the same
    assert "办件编号 " + reference_of(refused.id) in client.get("/resident/home").get_data(as_text=True)
    reasons = page.split('id="reasons"', 1)[1].split("</ol>", 1)[0]
    assert reasons.count("<li>") == reasons.count("怎么办") and "租赁合同未登记备案" in reasons
    hints = page.split('id="hints"', 1)[1].split("</ol>", 1)[0]
    assert hints.count("<li>") >= 1 and hints.count("<li>") == hints.count("怎么办")

    again = client.post(f"/resident/applications/{refused.id}/reapply", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 302 and again.headers["Location"] == "/resident/apply"
    notice = client.get("/resident/apply").get_data(as_text=True)
    assert "已按您上次的申请预先填写" in notice
    client.post("/resident/apply", data={"csrf_token": csrf_of(notice), "accept": "yes"})
    form = client.get("/resident/apply/form").get_data(as_text=True)
    assert field_value(form, "residence.address") == "杭州市西湖区某路3号"
    assert field_value(form, "applicant.name") == refused.document["applicant"]["name"]
    condition = refused.document["conditions"][0]
    slot = ("residence", "employment", "schooling").index(condition["kind"])  # its kind's fieldset
    assert selected(form, f"conditions[{slot}].proof") == condition["proof"]
    assert field_value(form, f"conditions[{slot}].since") == condition["since"]
    assert "已上传" not in form  # proofs are uploaded again


def test_the_officer_result_lists_rule_and_officer_reasons(app, sqlite_runtime):
    refused = decided(sqlite_runtime, approve=False, residence={"division": "330106", "address": "杭州某路"})
    seed = add_officer(sqlite_runtime, "rev1", "reviewer")
    client = app.test_client()
    officer_login(client, sqlite_runtime, "rev1", seed)
    page = client.get(f"/officer/applications/{refused.id}").get_data(as_text=True)
    assert reference_of(refused.id) in page
    listed = page.split('id="decision-reasons"', 1)[1].split("</ol>", 1)[0]
    assert "RESIDENCE_OUTSIDE_COUNTY" in listed and "租赁合同未登记备案" in listed and "审核人理由" in listed


def test_a_holder_is_offered_endorsement_and_replacement_not_a_new_application(app, sqlite_runtime):
    decided(sqlite_runtime, approve=True)
    client = app.test_client()
    login_resident(client, sqlite_runtime, PHONE)
    home = client.get("/resident/home").get_data(as_text=True)
    assert "我要申请居住证" not in home
    assert "办理签注" in home and "补领" in home
    with sqlite_runtime.uow(readonly=True) as uow:
        (credential,) = uow.credentials.for_owner(resident(sqlite_runtime, PHONE).id)
    permit_url = f"/resident/permits/{credential.id}"
    assert f"{permit_url}#replacement-title" in home
    permit = client.get(permit_url).get_data(as_text=True)
    done = client.post(permit_url + "/replacement", data={"csrf_token": csrf_of(permit), "reason": "lost"})
    assert done.status_code == 302 and "done=replaced" in done.headers["Location"]
    assert "补领/换领已办理" in client.get(done.headers["Location"]).get_data(as_text=True)


def test_the_officer_prints_the_receipt_and_the_prefilled_form(app, sqlite_runtime):
    done = decided(sqlite_runtime, approve=True)
    add_officer(sqlite_runtime, "clerk1", "clerk")
    client = app.test_client()
    officer_login(client, sqlite_runtime, "clerk1", None)
    page = client.get(f"/officer/applications/{done.id}").get_data(as_text=True)
    assert 'id="receipt-link"' in page and 'id="form-link"' in page
    for url in (f"/officer/applications/{done.id}/receipt.pdf", f"/officer/applications/{done.id}/form.pdf"):
        pdf = client.get(url)
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF"), url
