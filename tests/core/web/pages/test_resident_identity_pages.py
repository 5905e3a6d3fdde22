"""The real-name resident's form, without a browser: name and ID number filled from the
identity and read-only, whatever is sent in their place; the agent's form; a document that
differs refused naming what; the reviewer's page saying what the application rests on."""

from __future__ import annotations

import re

import pytest

from govcred.core.services import intake
from govcred.core.web import create_app
from govcred.testing import make_runtime, make_settings
from tests.core.accounts.oidc_kit import sign_in
from tests.core.web.pages.pagekit import add_officer, csrf_of, officer_login
from tests.core.web.pages.test_application_form import employment_only, field_value, proof, summary, to_form
from tests.core.workflow_helpers import APPLICANT_ID, import_records
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

CHILD_ID = make_id("20150601", seq="666")


@pytest.fixture
def rt(oidc_provider, data_dir, sqlite_url, clock):
    oidc_provider.person.id_number = APPLICANT_ID
    runtime = make_runtime(make_settings(data_dir, sqlite_url, identity=oidc_provider.identity_table()), clock)
    import_records(runtime)
    import_records(runtime, id_number=CHILD_ID)
    yield runtime
    runtime.close()


@pytest.fixture
def app(rt):
    return create_app(runtime=rt)


@pytest.fixture
def client(app, oidc_provider):
    client = app.test_client()
    assert sign_in(client, oidc_provider).status_code == 302
    return client


def readonly(page: str, name: str) -> bool:
    fid = "f-" + re.sub(r"[^0-9A-Za-z]", "-", name)
    tag = re.search(rf'<input id="{fid}"[^>]*>', page).group(0)
    return " readonly" in tag


def test_the_name_and_id_number_come_from_the_identity_and_cannot_be_changed(client, rt):
    token = to_form(client)
    page = client.get("/resident/apply/form").get_data(as_text=True)
    assert "您已通过实名认证登录" in page and "张三明" in page and "本人申请" in page
    assert field_value(page, "applicant.name") == "张三明" and readonly(page, "applicant.name")
    assert field_value(page, "applicant.id_number") == APPLICANT_ID and readonly(page, "applicant.id_number")
    assert not readonly(page, "applicant.phone") and not readonly(page, "agent.name")
    # a form sent with other values (the read-only attribute removed by hand): the identity's are kept
    forged = employment_only(token, proof(client, token), **{"applicant.name": "李四", "agent.name": "某人"})
    forged["applicant.id_number"] = make_id("19700101", seq="999")
    sent = client.post("/resident/apply/form", data=forged)
    assert sent.status_code == 302 and sent.headers["Location"] == "/resident/apply/confirm"
    confirm = client.get("/resident/apply/confirm").get_data(as_text=True)
    assert "张三明" in confirm and "李四" not in confirm and "某人" not in confirm
    done = client.post("/resident/apply/confirm", data={"csrf_token": csrf_of(confirm)})
    assert done.status_code == 302
    app_id = done.headers["Location"].rsplit("/", 1)[1]
    with rt.uow(readonly=True) as uow:
        stored = uow.applications.get(app_id)
    assert (
        stored.document["applicant"]["name"] == "张三明" and stored.document["applicant"]["id_number"] == APPLICANT_ID
    )
    assert stored.identity["source"] == "oidc" and stored.identity["acting_as"] == "applicant"


def test_an_agent_switches_the_form_and_applies_for_a_child(client, rt, app):
    token = to_form(client)
    switched = client.post(
        "/resident/apply/form", data={"csrf_token": token, "switch_to": "agent", "applicant.phone": "13900000031"}
    )
    assert switched.status_code == 302 and switched.headers["Location"] == "/resident/apply/form"
    page = client.get("/resident/apply/form").get_data(as_text=True)
    assert "代他人申请" in page and "改为本人申请" in page
    assert field_value(page, "agent.name") == "张三明" and readonly(page, "agent.name")
    assert field_value(page, "agent.id_number") == APPLICANT_ID and readonly(page, "agent.id_number")
    assert not readonly(page, "applicant.name") and field_value(page, "applicant.name") in (None, "")
    assert field_value(page, "applicant.phone") == "13900000031"  # what was typed stays

    data = employment_only(token, proof(client, token), **{"applicant.name": "张小明", "applicant.id_number": CHILD_ID})
    relation_proof = proof(client, token)
    data.update({"agent.relation": "guardian", "agent.reason": "minor", "agent.name": "冒名"})
    data["agent.attachments"] = relation_proof  # the 户口簿 page the reviewer checks the relation against
    assert client.post("/resident/apply/form", data=data).headers["Location"] == "/resident/apply/confirm"
    confirm = client.get("/resident/apply/confirm").get_data(as_text=True)
    done = client.post("/resident/apply/confirm", data={"csrf_token": csrf_of(confirm)})
    app_id = done.headers["Location"].rsplit("/", 1)[1]
    with rt.uow(readonly=True) as uow:
        stored = uow.applications.get(app_id)
    assert stored.document["agent"]["name"] == "张三明" and stored.identity["relation"] == "guardian"
    assert stored.document["agent"]["attachments"] == [relation_proof]

    reviewer = app.test_client()
    seed = add_officer(rt, "rev1", "reviewer")
    officer_login(reviewer, rt, "rev1", seed)
    shown = reviewer.get(f"/officer/applications/{app_id}").get_data(as_text=True)
    assert "实名认证（oidc，认证等级 3）" in shown
    assert "代办：监护人或近亲属代为申请" in shown and "张*明" in shown and "已实名核验" in shown
    assert "监护人" in shown and "请对照上传的关系证明材料核实" in shown
    assert f"/officer/attachments/{relation_proof}" in shown  # the proof is on the reviewer's page


def test_applying_for_oneself_as_one_s_own_agent_is_refused_with_the_reason(client, rt):
    token = to_form(client)
    client.post("/resident/apply/form", data={"csrf_token": token, "switch_to": "agent"})
    data = employment_only(token, proof(client, token))  # the applicant is the signed-in person again
    data.update({"agent.relation": "close_relative", "agent.reason": "elderly"})
    sent = client.post("/resident/apply/form", data=data)
    assert sent.status_code == 302  # the form's own checks pass; the use case refuses at confirmation
    confirm = client.get("/resident/apply/confirm").get_data(as_text=True)
    refused = client.post("/resident/apply/confirm", data={"csrf_token": csrf_of(confirm)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert any("申请人不能是您本人" in text for _field, text in summary(page))


def test_the_api_refuses_a_document_that_differs_from_the_identity(rt):
    """The use case itself (every channel): the pages fill the fields, other callers are checked."""
    from govcred.core.accounts.officers import Principal
    from govcred.core.exceptions import ValidationError
    from tests.core.services.test_identity_binding import real_name_resident
    from tests.core.workflow_helpers import document, upload

    person: Principal = real_name_resident(rt, name="张三明", id_number=CHILD_ID)
    with pytest.raises(ValidationError) as caught:
        intake.submit_application(rt.collaborators, document([upload(rt, person)]), principal=person, channel="online")
    assert [e.code for e in caught.value.errors] == ["IDENTITY_ID_MISMATCH"]
