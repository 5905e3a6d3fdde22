"""The form's own checks (``form_errors``): every problem a person can fix while typing,
named by its field -- a mistyped ID number, a future start date, a section half filled."""

from __future__ import annotations

import datetime as dt

from govcred.plugins.zhejiang_residence.form_checks import form_errors
from tests.plugins.zhejiang_residence.zj_fixtures import EMPLOYER_USCC, make_id

TODAY = dt.date(2027, 3, 1)
GOOD_ID = make_id("19900307")


def typed(**parts):
    doc = {
        "schema": "zj-residence/application@1",
        "path": "registration_recognition",
        "channel": "online",
        "applicant": {
            "name": "张三",
            "id_number": GOOD_ID,
            "phone": "13900001111",
            "hukou_division": "330102",
            "hukou_address": "杭州市上城区某路1号",
        },
        "residence": {"division": "331121", "address": "青田县鹤城街道某路2号"},
        "conditions": [
            {
                "kind": "employment",
                "proof": "labor_contract",
                "employer": "青田某公司",
                "employer_uscc": EMPLOYER_USCC,
                "division": "331121",
                "since": "2026-01-01",
                "attachments": ["a1"],
            }
        ],
        "commitment": {"accepted": True, "at": "2027-03-01T09:00:00+08:00"},
    }
    doc.update(parts)
    return doc


def fields(errors):
    return [e.field for e in errors]


def test_a_complete_form_has_no_problem():
    assert form_errors(typed(), TODAY) == []


def test_an_empty_form_names_name_id_and_phone_first():
    errors = form_errors({"schema": "zj-residence/application@1", "channel": "online"}, TODAY)
    assert fields(errors)[:3] == ["applicant.name", "applicant.id_number", "applicant.phone"]
    assert "residence.address" in fields(errors) and "conditions" in fields(errors)
    assert all(e.message for e in errors)


def test_a_17_digit_number_and_a_wrong_check_digit_are_flagged_on_the_form():
    short = form_errors(typed(applicant={**typed()["applicant"], "id_number": GOOD_ID[:17]}), TODAY)
    assert [(e.field, e.code) for e in short] == [("applicant.id_number", "ID_FORMAT")]
    wrong = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")
    bad = form_errors(typed(applicant={**typed()["applicant"], "id_number": wrong}), TODAY)
    assert [(e.field, e.code) for e in bad] == [("applicant.id_number", "ID_CHECKSUM")]
    assert "校验位" in bad[0].message


def test_a_start_date_in_the_future_is_refused():
    condition = {**typed()["conditions"][0], "since": "2027-03-02"}
    errors = form_errors(typed(conditions=[condition]), TODAY)
    assert [(e.field, e.code) for e in errors] == [("conditions[0].since", "DATE_IN_FUTURE")]
    assert "2027年3月1日" in errors[0].message


def test_a_half_filled_condition_names_each_missing_field():
    errors = form_errors(typed(conditions=[{"kind": "employment", "proof": "labor_contract"}]), TODAY)
    assert set(fields(errors)) == {
        "conditions[0].division",
        "conditions[0].since",
        "conditions[0].employer",
        "conditions[0].employer_uscc",
        "conditions[0].attachments",
    }


def test_schooling_needs_its_school():
    cond = {"kind": "schooling", "proof": "student_card", "division": "331121", "since": "2026-09-01"}
    errors = form_errors(typed(conditions=[dict(cond, attachments=["a"])]), TODAY)
    assert fields(errors) == ["conditions[0].school"]


def test_the_waiver_needs_both_its_basis_and_its_reference():
    assert fields(form_errors(typed(waiver={"basis": "recruited_talent"}), TODAY)) == ["waiver.reference"]
    assert fields(form_errors(typed(waiver={"reference": "青政办〔2026〕12号"}), TODAY)) == ["waiver.basis"]
    assert form_errors(typed(waiver={"basis": "recruited_talent", "reference": "青政办〔2026〕12号"}), TODAY) == []


def test_a_window_application_may_bring_paper_proofs_later():
    condition = {k: v for k, v in typed()["conditions"][0].items() if k != "attachments"}
    assert form_errors(typed(channel="window", conditions=[condition]), TODAY) == []
    assert fields(form_errors(typed(conditions=[condition]), TODAY)) == ["conditions[0].attachments"]
