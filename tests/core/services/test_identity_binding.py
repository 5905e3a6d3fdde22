"""Applications bound to the signed-in person: a real-name resident applies in person under
their verified name and ID number, or as an agent under their own; what differs is refused
naming it; every application records the identity source it rests on (and audits it)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govcred.core.accounts.officers import Principal
from govcred.core.exceptions import ValidationError
from govcred.core.orm import audit_log
from govcred.core.services import intake
from tests.core.workflow_helpers import APPLICANT_ID, document, import_records, officer, resident, upload
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

AGENT_ID = make_id("19800101", seq="555")
CHILD_ID = make_id("20150601", seq="666")


def real_name_resident(rt, name="张三明", id_number=APPLICANT_ID, sub="zlb-1") -> Principal:
    with rt.uow() as uow:
        account = uow.residents.record_identity(
            rt.secrets.index(f"https://zlb.example\n{sub}", "identity-subject|oidc"),
            provider="oidc",
            name=name,
            id_number=id_number,
            assurance="3",
            now=rt.clock.now(),
        )
        uow.commit()
    return Principal("resident", account.id)


def submitted_audit(rt, app_id: str) -> dict:
    with rt.uow(readonly=True) as uow:
        return uow.session.execute(
            sa.select(audit_log.c.details).where(
                audit_log.c.action == "application.submitted", audit_log.c.object_id == app_id
            )
        ).scalar_one()


def submit(rt, who, doc, channel="online"):
    return intake.submit_application(rt.collaborators, doc, principal=who, channel=channel)


def test_in_person_under_the_verified_identity(sqlite_runtime):
    rt = sqlite_runtime
    import_records(rt)
    person = real_name_resident(rt)
    app = submit(rt, person, document([upload(rt, person)]))
    assert app.identity == {"acting_as": "applicant", "source": "oidc", "verified": True, "assurance": "3"}
    details = submitted_audit(rt, app.id)
    assert details["identity_source"] == "oidc" and details["acting_as"] == "applicant"


def test_a_name_and_id_number_other_than_the_identity_are_refused_naming_both(sqlite_runtime):
    rt = sqlite_runtime
    person = real_name_resident(rt)
    doc = document([upload(rt, person)], id_number=AGENT_ID)
    doc["applicant"]["name"] = "李四"
    with pytest.raises(ValidationError) as caught:
        submit(rt, person, doc)
    found = {(e.field, e.code): e.message for e in caught.value.errors}
    assert found[("applicant.name", "IDENTITY_NAME_MISMATCH")] == (
        "申请人姓名与您实名认证的姓名（张*明）不一致，以实名认证为准"
    )
    assert "（3301**********" in found[("applicant.id_number", "IDENTITY_ID_MISMATCH")]
    with rt.uow(readonly=True) as uow:
        assert uow.applications.list_for_owner(person.id) == []


def agent_document(rt, who, *, agent_name="王五", agent_id=AGENT_ID, relation="guardian"):
    doc = document([upload(rt, who)], id_number=CHILD_ID)
    doc["applicant"]["name"] = "王小明"
    doc["agent"] = {"name": agent_name, "id_number": agent_id, "relation": relation, "reason": "minor"}
    return doc


def test_an_agent_applies_under_their_own_identity_and_the_relation_is_recorded(sqlite_runtime):
    rt = sqlite_runtime
    import_records(rt, id_number=CHILD_ID)
    guardian = real_name_resident(rt, name="王五", id_number=AGENT_ID)
    app = submit(rt, guardian, agent_document(rt, guardian))
    assert app.identity == {
        "acting_as": "agent",
        "relation": "guardian",
        "source": "oidc",
        "verified": True,
        "assurance": "3",
        "agent_name_masked": "王*",
        "agent_id_masked": AGENT_ID[:4] + "*" * 10 + AGENT_ID[-4:],
    }
    assert submitted_audit(rt, app.id)["acting_as"] == "agent"


def test_an_agent_other_than_the_signed_in_person_is_refused(sqlite_runtime):
    rt = sqlite_runtime
    guardian = real_name_resident(rt, name="王五", id_number=AGENT_ID)
    with pytest.raises(ValidationError) as caught:
        submit(rt, guardian, agent_document(rt, guardian, agent_name="赵六", agent_id=APPLICANT_ID))
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("agent.name", "IDENTITY_NAME_MISMATCH"),
        ("agent.id_number", "IDENTITY_ID_MISMATCH"),
    }
    assert all(e.message.startswith("代办人") for e in caught.value.errors)


def test_an_agent_cannot_be_their_own_applicant(sqlite_runtime):
    rt = sqlite_runtime
    person = real_name_resident(rt)
    doc = document([upload(rt, person)])
    doc["agent"] = {"name": "张三明", "id_number": APPLICANT_ID, "relation": "close_relative", "reason": "elderly"}
    with pytest.raises(ValidationError) as caught:
        submit(rt, person, doc)
    assert ("applicant.id_number", "AGENT_IS_APPLICANT") in {(e.field, e.code) for e in caught.value.errors}


def test_the_sms_code_and_the_window_are_recorded_as_such(sqlite_runtime):
    rt = sqlite_runtime
    import_records(rt)
    phone_only = resident(rt, "13900000021")
    app = submit(rt, phone_only, document([upload(rt, phone_only)], id_number=APPLICANT_ID))
    assert app.identity == {"acting_as": "applicant", "source": "sms_code", "verified": False}
    assert submitted_audit(rt, app.id)["identity_source"] == "sms_code"

    clerk = officer(rt, "clerk", "clerk1")
    other = make_id("19750505", seq="777")
    import_records(rt, id_number=other)
    at_window = submit(rt, clerk, document([upload(rt, clerk)], channel="window", id_number=other), channel="window")
    assert at_window.identity == {"acting_as": "applicant", "source": "window", "verified_by": "clerk"}
    assert submitted_audit(rt, at_window.id)["identity_source"] == "window"
