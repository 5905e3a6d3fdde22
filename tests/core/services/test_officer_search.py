"""Officer search: one query, its kind detected (ID number, 办件编号, permit number, phone),
personal identifiers found through their blind indexes, pages in the queue's order, and an
audit entry that names the kind searched but never the query."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from govcred.core import models
from govcred.core.exceptions import PermissionDenied, ValidationError
from govcred.core.orm import audit_log
from govcred.core.services import intake, officer_search
from govcred.core.services.search_indexes import fill_phone_indexes
from tests.core.permits import issue_permit
from tests.core.workflow_helpers import APPLICANT_ID, document, import_records, officer, resident, upload
from tests.plugins.zhejiang_residence.zj_fixtures import make_id

PHONE = "13900000061"
X_ID = make_id("19851231", seq="008")  # a check character X: typed in lower case too


def submitted(rt, id_number=APPLICANT_ID, phone=PHONE, applicant_phone=None) -> models.Application:
    holder = resident(rt, phone)
    doc = document([upload(rt, holder)], id_number=id_number)
    doc["applicant"]["phone"] = applicant_phone or phone
    return intake.submit_application(rt.collaborators, doc, principal=holder, channel="online")


def found(rt, principal, text, **kw) -> list[str]:
    return [a.id for a in officer_search.search_applications(rt.collaborators, principal, text, **kw).items]


def test_each_kind_is_detected_and_finds_its_application(runtime):
    rt = runtime
    import_records(rt)
    app = submitted(rt)
    other = submitted(rt, id_number=make_id("19700101", seq="456"), phone="13900000062")
    reviewer = officer(rt, "reviewer", "rv1")

    by_id = officer_search.search_applications(rt.collaborators, reviewer, f" {APPLICANT_ID} ")
    assert (by_id.query.kind, by_id.query.kind_zh) == ("id_number", "公民身份号码")
    assert [a.id for a in by_id.items] == [app.id]

    ref = app.reference
    assert ref == app.reference and len(ref) == 14
    for typed in (ref, ref.lower(), ref.replace("-", ""), ref.replace("-", " ").lower()):
        page = officer_search.search_applications(rt.collaborators, reviewer, typed)
        assert page.query.kind == "reference" and [a.id for a in page.items] == [app.id], typed

    for typed in (PHONE, "139 0000 0061", "139-0000-0061", "+86 139 0000 0061"):
        page = officer_search.search_applications(rt.collaborators, reviewer, typed)
        assert page.query.kind == "phone" and [a.id for a in page.items] == [app.id], typed
    assert found(rt, reviewer, "13900000062") == [other.id]


def test_an_id_number_with_x_is_found_in_lower_case(runtime):
    rt = runtime
    assert X_ID.endswith("X")
    import_records(rt, id_number=X_ID)
    app = submitted(rt, id_number=X_ID)
    clerk = officer(rt, "clerk", "ck1")  # clerks search too (the window looks people up)
    assert found(rt, clerk, X_ID.lower()) == [app.id]


def test_a_permit_number_finds_the_application_it_was_issued_on(runtime):
    rt = runtime
    credential = issue_permit(rt)
    issue_permit(rt)  # another holder's
    admin = officer(rt, "admin", "ad1")
    page = officer_search.search_applications(rt.collaborators, admin, credential.permit_no.lower())
    assert page.query.kind == "permit_no" and page.query.kind_zh == "居住证号码"
    assert [a.id for a in page.items] == [credential.application_id]


def test_what_is_not_an_identifier_is_refused_saying_why(runtime):
    rt = runtime
    reviewer = officer(rt, "reviewer", "rv1")
    cases = {
        "": "REQUIRED",
        APPLICANT_ID[:-1] + ("0" if APPLICANT_ID[-1] != "0" else "1"): "ID_CHECKSUM",
        "张三": "QUERY_UNRECOGNISED",
        "1234": "QUERY_UNRECOGNISED",
        "7K3M-9QX2-TADA": "REFERENCE_CHECK",
        "x" * 65: "QUERY_TOO_LONG",
    }
    for text, code in cases.items():
        with pytest.raises(ValidationError) as caught:
            officer_search.search_applications(rt.collaborators, reviewer, text)
        assert [e.code for e in caught.value.errors] == [code], text
        assert all(e.field == "q" and e.message for e in caught.value.errors)
    with pytest.raises(ValidationError) as caught:  # every problem at once
        officer_search.search_applications(rt.collaborators, reviewer, "张三", after="not-a-cursor", limit=0)
    assert sorted(e.code for e in caught.value.errors) == ["CURSOR_INVALID", "LIMIT_INVALID", "QUERY_UNRECOGNISED"]
    with pytest.raises(ValidationError) as caught:  # what a JSON body (the POST search) may hold
        officer_search.search_applications(rt.collaborators, reviewer, ["x"], after=7, limit="50")
    assert sorted((e.field, e.code) for e in caught.value.errors) == [
        ("after", "CURSOR_INVALID"),
        ("limit", "LIMIT_INVALID"),
        ("q", "REQUIRED"),
    ]


def test_residents_cannot_search(runtime):
    rt = runtime
    with pytest.raises(PermissionDenied):
        officer_search.search_applications(rt.collaborators, resident(rt, PHONE), APPLICANT_ID)


def test_results_page_by_keyset_without_repeats(runtime):
    rt = runtime
    index = rt.secrets.index(APPLICANT_ID, "id_number")
    now = rt.clock.now()
    with rt.uow() as uow:  # one person's many applications (earlier ones withdrawn)
        for _ in range(5):
            uow.applications.add(
                models.Application(
                    schema="zj-residence/application@1",
                    channel="window",
                    document=document(["a"], channel="window"),
                    state=models.WITHDRAWN,
                    subject_index=index,
                    subject_name_masked="张*明",
                    subject_id_masked="3301**********1234",
                    county="331121",
                    created_at=now,
                )
            )
        uow.commit()
    reviewer = officer(rt, "reviewer", "rv1")
    seen, after = [], None
    for _ in range(3):
        page = officer_search.search_applications(rt.collaborators, reviewer, APPLICANT_ID, after=after, limit=2)
        seen += [a.id for a in page.items]
        after = page.next
    assert len(seen) == len(set(seen)) == 5 and after is None


def test_a_search_is_audited_by_kind_never_by_query(runtime):
    rt = runtime
    import_records(rt)
    submitted(rt)
    reviewer = officer(rt, "reviewer", "rv1")
    found(rt, reviewer, APPLICANT_ID)
    found(rt, reviewer, PHONE)
    with rt.uow(readonly=True) as uow:
        rows = (
            uow.session.execute(sa.select(audit_log).where(audit_log.c.action == "application.searched"))
            .mappings()
            .all()
        )
    assert [(r["actor"], r["details"]["kind"], r["details"]["found"]) for r in rows] == [
        (reviewer.audit_actor, "id_number", 1),
        (reviewer.audit_actor, "phone", 1),
    ]
    assert {r["role"] for r in rows} == {"reviewer"}
    stored = json.dumps([dict(r) for r in rows], default=str)
    assert APPLICANT_ID not in stored and PHONE not in stored


def test_applications_stored_before_the_phone_index_are_filled_and_found(runtime):
    rt = runtime
    import_records(rt)
    app = submitted(rt)
    with rt.uow() as uow:  # as migration 0019 leaves a row stored before it
        uow.session.execute(sa.update(models.Application.__table__).values(phone_index=None))
        uow.commit()
    reviewer = officer(rt, "reviewer", "rv1")
    assert found(rt, reviewer, PHONE) == []
    assert fill_phone_indexes(rt.collaborators) >= 1
    assert fill_phone_indexes(rt.collaborators) == 0  # nothing left to fill
    assert found(rt, reviewer, PHONE) == [app.id]
    with rt.uow(readonly=True) as uow:
        assert uow.applications.get(app.id).version == app.version  # filling is not an edit


def test_upgrading_from_0018_fills_reference_and_phone_index(runtime, govcred_cli):
    rt = runtime
    import_records(rt)
    app = submitted(rt)
    assert govcred_cli("db", "downgrade", "0018", "--yes").exit_code == 0
    up = govcred_cli("db", "upgrade")
    assert up.exit_code == 0, up.output
    assert "手机号检索索引" in up.output
    with rt.uow(readonly=True) as uow:
        stored = uow.session.execute(
            sa.select(models.Application.__table__.c.reference).where(models.Application.__table__.c.id == app.id)
        ).scalar_one()
    assert stored == app.reference
    reviewer = officer(rt, "reviewer", "rv1")
    assert found(rt, reviewer, PHONE) == [app.id]
    assert found(rt, reviewer, app.reference.lower()) == [app.id]
