import datetime as dt

import pytest

from govcred.core.models import ADVISORY, BLOCKING
from govcred.plugins.zhejiang_residence.county import CountyConfig
from govcred.plugins.zhejiang_residence.records import ExistingPermit
from govcred.plugins.zhejiang_residence.rules import evaluate, is_eligible
from tests.plugins.zhejiang_residence.zj_fixtures import AS_OF, base_document, context, make_id, permits, regs

D = dt.date.fromisoformat


def codes(findings, severity=None):
    return sorted(f.code for f in findings if severity is None or f.severity == severity)


def test_eligible_document_has_no_findings():
    findings = evaluate(base_document(), context())
    assert findings == [] and is_eligible(findings)


def test_every_finding_is_actionable_chinese_with_a_legal_basis():
    doc = base_document(path="permit_conversion", commitment={"accepted": False, "at": None})
    doc["applicant"]["id_number"] = "331121199003070018"
    doc["applicant"]["hukou_division"] = "331121"
    doc["residence"]["division"] = "331122"
    doc["conditions"][0].update(division="331122", attachments=[], proof="student_card")
    findings = evaluate(doc, context(already_holds=True))
    assert findings
    for f in findings:
        assert f.message_zh and not f.message_zh.isascii()
        assert f.basis.startswith(("《", "GB", "青政办发"))


def test_four_failing_rules_reported_in_one_evaluation():
    doc = base_document(commitment={"accepted": False, "at": None})
    doc["applicant"]["id_number"] = "331121199003070018"  # bad checksum
    doc["applicant"]["hukou_division"] = "332822"  # old Qingtian code: local
    doc["residence"]["division"] = "331122001"  # Jinyun
    findings = evaluate(doc, context())
    assert codes(findings, BLOCKING) == [
        "COMMITMENT_MISSING",
        "ID_NUMBER_INVALID",
        "LOCAL_HUKOU",
        "RESIDENCE_OUTSIDE_COUNTY",
    ]
    assert not is_eligible(findings)


# ---- identity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, code",
    [
        ("331121199003070018", "ID_NUMBER_INVALID"),
        (make_id("19900230"), "ID_NUMBER_INVALID"),
        ("33112119900307", "ID_NUMBER_INVALID"),
        (make_id("19900101", "810000"), "DOCUMENT_NOT_ELIGIBLE"),
        (make_id("19900101", "830000"), "DOCUMENT_NOT_ELIGIBLE"),
        (make_id("19900101", "911000"), "DOCUMENT_NOT_ELIGIBLE"),
        ("331121199003070019", None),
        ("11010519491231002x", None),  # lower-case x is normalised
    ],
)
def test_applicant_id(number, code):
    doc = base_document()
    doc["applicant"]["id_number"] = number
    got = [f for f in evaluate(doc, context()) if f.code in ("ID_NUMBER_INVALID", "DOCUMENT_NOT_ELIGIBLE")]
    assert [f.code for f in got] == ([code] if code else [])
    assert all(f.field == "applicant.id_number" for f in got)


def test_hukou_rules():
    for hukou, local in (("331121", True), ("332622", True), ("332822", True), ("331122", False), ("330102", False)):
        doc = base_document()
        doc["applicant"]["hukou_division"] = hukou
        assert ("LOCAL_HUKOU" in codes(evaluate(doc, context()))) is local, hukou


@pytest.mark.parametrize(
    "division, outside",
    [
        ("331121", False),
        ("331121001", False),
        ("331121001002", False),
        ("331122", True),
        ("332822", True),
        ("330102001", True),
    ],
)
def test_residence_in_county(division, outside):
    doc = base_document()
    doc["residence"]["division"] = division
    assert ("RESIDENCE_OUTSIDE_COUNTY" in codes(evaluate(doc, context()))) is outside


def test_commitment_missing():
    assert codes(evaluate(base_document(commitment={"accepted": False, "at": None}), context())) == [
        "COMMITMENT_MISSING"
    ]


# ---- agents --------------------------------------------------------------------------------


def _with_agent(birth, agent):
    doc = base_document()
    doc["applicant"]["id_number"] = make_id(birth)
    if agent is not None:
        relation, reason = agent
        doc["agent"] = {
            "name": "李四",
            "id_number": make_id("19700101", "330102", "555"),
            "relation": relation,
            "reason": reason,
        }
    return codes(evaluate(doc, context()), BLOCKING)


@pytest.mark.parametrize(
    "birth, agent, expected",
    [
        ("20110302", None, ["AGENT_REQUIRED"]),  # 15 on 2027-03-01
        ("20110302", ("guardian", "minor"), []),
        ("20110302", ("close_relative", "minor"), ["AGENT_NOT_ALLOWED", "AGENT_REQUIRED"]),
        ("20110302", ("guardian", "elderly"), ["AGENT_NOT_ALLOWED", "AGENT_REQUIRED"]),
        ("20110301", None, []),  # 16 today: applies alone
        ("20110301", ("guardian", "minor"), ["AGENT_NOT_ALLOWED"]),
        ("19670302", ("close_relative", "elderly"), ["AGENT_NOT_ALLOWED"]),  # 59
        ("19670301", ("close_relative", "elderly"), []),  # 60 today
        ("19670301", ("guardian", "elderly"), ["AGENT_NOT_ALLOWED"]),
        ("19900101", ("close_relative", "disabled"), []),
        ("19900101", ("guardian", "disabled"), ["AGENT_NOT_ALLOWED"]),
        ("19900101", ("close_relative", "elderly"), ["AGENT_NOT_ALLOWED"]),
        ("19900101", ("close_relative", "minor"), ["AGENT_NOT_ALLOWED"]),
    ],
)
def test_agents(birth, agent, expected):
    assert _with_agent(birth, agent) == expected


def test_agent_id_validated():
    doc = base_document()
    doc["agent"] = {
        "name": "李四",
        "id_number": "330102197001015550",
        "relation": "close_relative",
        "reason": "disabled",
    }
    findings = evaluate(doc, context())
    assert [(f.code, f.field) for f in findings] == [("ID_NUMBER_INVALID", "agent.id_number")]
    assert findings[0].message_zh.startswith("代办人")


def test_agent_cannot_be_the_applicant():
    doc = base_document()
    doc["agent"] = {
        "name": "张三明",
        "id_number": doc["applicant"]["id_number"],
        "relation": "close_relative",
        "reason": "disabled",
    }
    assert codes(evaluate(doc, context())) == ["AGENT_NOT_ALLOWED"]


def test_invalid_applicant_id_skips_age_rules_but_checks_relation():
    doc = base_document()
    doc["applicant"]["id_number"] = "not-an-id"
    assert codes(evaluate(doc, context())) == ["ID_NUMBER_INVALID"]  # no AGENT_REQUIRED guess
    doc["agent"] = {"name": "李四", "id_number": make_id("19700101"), "relation": "close_relative", "reason": "minor"}
    assert codes(evaluate(doc, context())) == ["AGENT_NOT_ALLOWED", "ID_NUMBER_INVALID"]


# ---- conditions ----------------------------------------------------------------------------


def _condition(**changes):
    cond = {
        "kind": "residence",
        "proof": "registered_rental_contract",
        "division": "331121",
        "since": "2026-01-01",
        "until": None,
        "attachments": ["a"],
    }
    cond.update(changes)
    return cond


@pytest.mark.parametrize(
    "changes, advisories",
    [
        ({}, []),
        ({"division": "331122"}, ["CONDITION_OUTSIDE_COUNTY"]),
        ({"since": "2027-03-02"}, ["CONDITION_NOT_CURRENT"]),
        ({"since": "2027-03-01"}, []),
        ({"until": "2027-02-28"}, ["CONDITION_NOT_CURRENT"]),
        ({"until": "2027-03-01"}, []),
        ({"proof": "labor_contract"}, ["PROOF_TYPE_INVALID"]),
        ({"proof": "village_certificate"}, ["PROOF_TYPE_INVALID"]),
        ({"attachments": []}, ["MATERIAL_MISSING"]),
        (
            {"division": "330100", "attachments": [], "proof": "student_card"},
            ["CONDITION_OUTSIDE_COUNTY", "MATERIAL_MISSING", "PROOF_TYPE_INVALID"],
        ),
    ],
)
def test_single_condition(changes, advisories):
    findings = evaluate(base_document(conditions=[_condition(**changes)]), context())
    assert codes(findings, ADVISORY) == advisories
    assert codes(findings, BLOCKING) == (["NO_QUALIFYING_CONDITION"] if advisories else [])


def test_one_good_condition_is_enough_and_the_bad_one_is_explained():
    doc = base_document(
        conditions=[_condition(attachments=[]), _condition(kind="schooling", proof="student_card", school="青田中学")]
    )
    findings = evaluate(doc, context())
    assert [(f.code, f.field) for f in findings] == [("MATERIAL_MISSING", "conditions[0].attachments")]
    assert is_eligible(findings)
    assert "请补充上传" in findings[0].message_zh


def test_no_conditions():
    assert codes(evaluate(base_document(conditions=[]), context())) == ["NO_QUALIFYING_CONDITION"]


# ---- path 1: existing permit -----------------------------------------------------------------


def _permits(*rows):
    return permits(*(ExistingPermit(f"P{i}", d, D("2025-01-01"), s) for i, (d, s) in enumerate(rows)))


@pytest.mark.parametrize(
    "permits, expected",
    [
        ((), ["PERMIT_MISSING"]),
        ((("310101", "valid"),), ["PERMIT_NOT_ZHEJIANG"]),
        ((("330100", "suspended"),), ["PERMIT_NOT_VALID"]),
        ((("330100", "revoked"),), ["PERMIT_NOT_VALID"]),
        ((("330100", "valid"),), []),
        ((("330100", "revoked"), ("330200", "valid")), []),
        ((("310101", "valid"), ("330100", "suspended")), ["PERMIT_NOT_VALID"]),
        ((("331121", "valid"),), ["ALREADY_HOLDS_PERMIT"]),  # already a Qingtian permit
    ],
)
def test_permit_conversion(permits, expected):
    doc = base_document(path="permit_conversion", registrations=None)
    assert codes(evaluate(doc, context(_permits(*permits)))) == expected


def test_suspended_permit_message_says_endorse_first():
    doc = base_document(path="permit_conversion")
    (f,) = evaluate(doc, context(_permits(("330100", "suspended"))))
    assert "签注" in f.message_zh and "第十九条" in f.basis


def test_permit_rules_do_not_apply_to_registration_path():
    assert evaluate(base_document(), context(regs(("331121", "2026-01-01", None)))) == []


# ---- path 2: registrations -------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, as_of, expected",
    [
        ([("331121", "2026-08-31", None)], "2027-02-28", ["REGISTRATION_TOO_SHORT"]),
        ([("331121", "2026-08-31", None)], "2027-03-01", []),
        ([("331121", "2026-03-31", None)], "2026-09-30", ["REGISTRATION_TOO_SHORT"]),
        ([("331121", "2026-03-31", None)], "2026-10-01", []),
        # chain across Zhejiang cities: Hangzhou then Qingtian
        ([("330100", "2026-01-01", "2026-06-30"), ("331121", "2026-07-01", None)], "2026-07-02", []),
        # gap of two days breaks: only the Qingtian part counts
        (
            [("330100", "2026-01-01", "2026-06-30"), ("331121", "2026-07-03", None)],
            "2026-08-01",
            ["REGISTRATION_TOO_SHORT"],
        ),
        # Shanghai in between breaks
        (
            [
                ("330100", "2026-01-01", "2026-06-30"),
                ("310101", "2026-07-01", "2026-07-01"),
                ("331121", "2026-07-01", None),
            ],
            "2026-08-01",
            ["REGISTRATION_TOO_SHORT"],
        ),
        # overlap merges
        ([("330100", "2026-01-01", "2026-09-30"), ("331121", "2026-06-01", None)], "2026-10-01", []),
        # latest registration not in the county
        (
            [("331121", "2026-01-01", "2026-06-30"), ("330100", "2026-07-01", None)],
            "2027-01-01",
            ["REGISTRATION_NOT_CURRENT"],
        ),
        # ended before T
        ([("331121", "2026-01-01", "2026-12-31")], "2027-01-01", ["REGISTRATION_NOT_CURRENT"]),
        ([], "2027-01-01", ["REGISTRATION_NOT_CURRENT"]),
        ([("310101", "2025-01-01", None)], "2027-01-01", ["REGISTRATION_NOT_CURRENT"]),
    ],
)
def test_registration_recognition(rows, as_of, expected):
    doc = base_document()
    doc["conditions"][0]["since"] = "2025-01-01"
    assert codes(evaluate(doc, context(regs(*rows), as_of=D(as_of)))) == expected


def test_too_short_message_names_the_first_eligible_day():
    (f,) = evaluate(base_document(), context(regs(("331121", "2026-08-31", None)), as_of=D("2027-02-28")))
    assert "2027年2月28日满六个月" in f.message_zh and "2027年3月1日" in f.message_zh
    assert "第十六条" in f.basis


def test_gap_tolerance_from_config():
    rows = regs(("330100", "2026-01-01", "2026-06-30"), ("331121", "2026-07-03", None))
    on = D("2026-08-01")
    assert codes(evaluate(base_document(), context(rows, as_of=on))) == ["REGISTRATION_TOO_SHORT"]
    assert evaluate(base_document(), context(rows, as_of=on), CountyConfig(max_gap_days=2)) == []


@pytest.mark.parametrize(
    "waiver, lifted",
    [
        ({"basis": "recruited_talent", "reference": "青人才〔2026〕3号"}, True),
        ({"basis": "investment_entrepreneurship", "reference": "青投〔2026〕1号名单"}, True),
        ({"basis": "recruited_talent", "reference": "  "}, False),
        (None, False),
    ],
)
def test_waiver_lifts_only_too_short(waiver, lifted):
    doc = base_document(waiver=waiver)
    short = context(regs(("331121", "2027-02-01", None)))
    assert codes(evaluate(doc, short)) == ([] if lifted else ["REGISTRATION_TOO_SHORT"])
    none = context(regs())
    assert codes(evaluate(doc, none)) == ["REGISTRATION_NOT_CURRENT"]


def test_records_come_from_context_not_document():
    doc = base_document(registrations=[{"division": "331121", "declared": "2020-01-01", "ended": None}])
    assert codes(evaluate(doc, context(regs()))) == ["REGISTRATION_NOT_CURRENT"]


# ---- already holds ------------------------------------------------------------------------


def test_already_holds_from_context():
    findings = evaluate(base_document(), context(already_holds=True))
    assert codes(findings) == ["ALREADY_HOLDS_PERMIT"]


def test_all_rules_run_with_everything_wrong():
    doc = base_document(commitment={"accepted": False, "at": None}, conditions=[_condition(division="330100")])
    doc["applicant"]["id_number"] = make_id("19900101", "810000")
    doc["applicant"]["hukou_division"] = "331121"
    doc["residence"]["division"] = "330100"
    doc["agent"] = {"name": "李四", "id_number": "x", "relation": "guardian", "reason": "elderly"}
    findings = evaluate(doc, context(regs(("331121", "2027-02-01", None)), already_holds=True))
    assert codes(findings) == sorted(
        [
            "DOCUMENT_NOT_ELIGIBLE",
            "LOCAL_HUKOU",
            "COMMITMENT_MISSING",
            "RESIDENCE_OUTSIDE_COUNTY",
            "AGENT_NOT_ALLOWED",
            "ID_NUMBER_INVALID",
            "CONDITION_OUTSIDE_COUNTY",
            "NO_QUALIFYING_CONDITION",
            "REGISTRATION_TOO_SHORT",
            "ALREADY_HOLDS_PERMIT",
        ]
    )
    assert AS_OF == D("2027-03-01")


def test_agent_with_hong_kong_permit_number_is_not_out_of_scope():
    # the permit is for the applicant; the agent only needs a lawful ID (暂行条例 art. 9 ¶3)
    doc = base_document()
    doc["agent"] = {
        "name": "陈大文",
        "id_number": make_id("19600101", "810000", "321"),
        "relation": "close_relative",
        "reason": "disabled",
    }
    assert evaluate(doc, context()) == []
    doc["agent"]["id_number"] = doc["agent"]["id_number"][:17] + ("1" if doc["agent"]["id_number"][17] != "1" else "2")
    assert [(f.code, f.field) for f in evaluate(doc, context())] == [("ID_NUMBER_INVALID", "agent.id_number")]
