import datetime as dt
import json

import pytest

from govcred.plugins.zhejiang_residence.document import records_from_document, validate_document
from govcred.plugins.zhejiang_residence.records import ExistingPermit, Registration, ResidenceRecords
from tests.plugins.zhejiang_residence.zj_fixtures import base_document, make_uscc


def _errors(doc):
    return {(e.field, e.code) for e in validate_document(doc)}


def test_valid_document_has_no_errors():
    assert validate_document(base_document()) == []


def test_every_problem_reported_at_once():
    doc = base_document(path="moving_in", channel="fax", extra="x")
    doc["applicant"]["phone"] = "12345"
    doc["applicant"]["hukou_division"] = "3301"
    del doc["applicant"]["hukou_address"]
    doc["residence"]["division"] = "abc"
    cond = doc["conditions"][0]
    cond["since"] = "2026-02-30"
    cond["until"] = "2025-01-01"
    cond["employer_uscc"] = "91331121MA2H11110X"
    cond["attachments"] = ["att-1", 7]
    cond["school"] = "某中学"
    doc["conditions"].append(
        {
            "kind": "residence",
            "proof": "property_certificate",
            "division": "331121",
            "since": "2026/01/01",
            "until": None,
        }
    )
    doc["commitment"] = {"accepted": "yes", "at": "2027-02-20T09:30:00"}
    doc["agent"] = {"name": "", "id_number": "330102199001011234", "relation": "friend", "reason": "busy"}
    doc["waiver"] = {"basis": "recruited_talent", "reference": " "}
    doc["registrations"] = [{"division": "331121", "declared": "2026-09-01", "ended": "2026-08-31"}]
    doc["existing_permit"] = {"number": "ZJ1", "issuer_division": "330100", "issued": "2025-13-01", "status": "lost"}
    errors = validate_document(doc)
    got = {(e.field, e.code) for e in errors}
    expected = {
        ("extra", "UNKNOWN_FIELD"),
        ("path", "ENUM"),
        ("channel", "ENUM"),
        ("applicant.phone", "PHONE"),
        ("applicant.hukou_division", "DIVISION"),
        ("applicant.hukou_address", "REQUIRED"),
        ("residence.division", "DIVISION"),
        ("conditions[0].since", "DATE"),
        ("conditions[0].employer_uscc", "USCC_CHECKSUM"),
        ("conditions[0].attachments[1]", "TYPE"),
        ("conditions[0].school", "UNKNOWN_FIELD"),
        ("conditions[1].since", "DATE"),
        ("conditions[1].attachments", "REQUIRED"),
        ("commitment.accepted", "TYPE"),
        ("commitment.at", "DATETIME"),
        ("agent.name", "REQUIRED"),
        ("agent.relation", "ENUM"),
        ("agent.reason", "ENUM"),
        ("waiver.reference", "TYPE"),
        ("registrations[0].ended", "DATE_ORDER"),
        ("existing_permit.issued", "DATE"),
        ("existing_permit.status", "ENUM"),
    }
    assert expected <= got, expected - got
    assert len(errors) == len(got)  # no duplicates
    assert all(e.message and not e.message.isascii() for e in errors)  # Chinese, actionable


def test_until_before_since():
    doc = base_document()
    doc["conditions"][0]["until"] = "2025-12-31"
    assert _errors(doc) == {("conditions[0].until", "DATE_ORDER")}


def test_missing_required_top_level_keys():
    doc = base_document()
    for key in ("schema", "applicant", "residence", "conditions", "commitment"):
        del doc[key]
    assert _errors(doc) == {(k, "REQUIRED") for k in ("schema", "applicant", "residence", "conditions", "commitment")}


def test_optional_sections_may_be_absent():
    doc = base_document()
    for key in ("agent", "existing_permit", "registrations", "waiver"):
        del doc[key]
    assert validate_document(doc) == []


@pytest.mark.parametrize("value", [None, [], "x", 5])
def test_not_an_object(value):
    assert [(e.field, e.code) for e in validate_document(value)] == [("", "TYPE")]


def test_wrong_types_everywhere():
    doc = base_document(conditions={"kind": "residence"}, registrations="none", agent=[], waiver="yes")
    doc["applicant"] = "张三"
    assert _errors(doc) == {
        ("conditions", "TYPE"),
        ("registrations", "TYPE"),
        ("agent", "TYPE"),
        ("waiver", "TYPE"),
        ("applicant", "TYPE"),
    }


def test_wrong_schema():
    assert ("schema", "SCHEMA") in _errors(base_document(schema="zj-residence/application@2"))


def test_employer_uscc_letter_prefix_accepted_and_format_errors():
    doc = base_document()
    doc["conditions"][0]["employer_uscc"] = make_uscc("N2331121MA0000001")
    assert validate_document(doc) == []
    doc["conditions"][0]["employer_uscc"] = "9133112100000000IO"
    assert _errors(doc) == {("conditions[0].employer_uscc", "USCC")}


def test_id_number_format_is_not_a_document_error():
    # ID_NUMBER_INVALID / DOCUMENT_NOT_ELIGIBLE are eligibility findings (DESIGN.md)
    doc = base_document()
    doc["applicant"]["id_number"] = "123"
    assert validate_document(doc) == []


def test_commitment_not_accepted_needs_no_time_but_accepted_does():
    doc = base_document(commitment={"accepted": False, "at": None})
    assert validate_document(doc) == []
    doc = base_document(commitment={"accepted": True, "at": None})
    assert _errors(doc) == {("commitment.at", "REQUIRED")}
    doc = base_document(commitment={"accepted": True, "at": "2027-02-20T01:30:00Z"})
    assert validate_document(doc) == []


def test_records_from_document():
    doc = base_document(
        registrations=[
            {"division": "330100", "declared": "2026-01-01", "ended": "2026-06-30"},
            {"division": "331121001", "declared": "2026-07-01", "ended": None},
        ],
        existing_permit={"number": "ZJ-1", "issuer_division": "330100", "issued": "2025-05-01", "status": "valid"},
    )
    snapshot = records_from_document(doc)
    assert json.loads(json.dumps(snapshot.data)) == snapshot.data  # what core carries is plain JSON
    records = ResidenceRecords.of(snapshot)
    assert records.registrations == (
        Registration("330100", dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
        Registration("331121001", dt.date(2026, 7, 1), None),
    )
    assert records.permits == (ExistingPermit("ZJ-1", "330100", dt.date(2025, 5, 1), "valid"),)
    assert records.source == "document"
    empty = ResidenceRecords.of(records_from_document(base_document(registrations=None)))
    assert empty.registrations == () and empty.permits == ()
