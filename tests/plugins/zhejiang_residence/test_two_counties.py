"""Two runtimes in one process, two counties: Qingtian (331121) and 缙云 (331122).

Each runtime configures its own zhejiang_residence object from its own settings; nothing is
module state, so building the second runtime changes nothing in the first, and decisions
taken in turn on the two runtimes each get their own county's rules, claims and numbers.
The two share one database (SQLite and PostgreSQL) -- the strictest case: what differs can
only come from the runtime.
"""

from __future__ import annotations

from govcred.core.services import decisions, eligibility, intake, issuance
from govcred.plugins.zhejiang_residence.benefits import BENEFIT_CODES, benefit_mask
from govcred.plugins.zhejiang_residence.configured import configured
from govcred.testing import make_runtime, make_settings
from tests.core.workflow_helpers import document, import_records, officer, resident, upload
from tests.plugins.zhejiang_residence.zj_fixtures import JINYUN, make_id

QINGTIAN_PERSON = make_id("19900307")
JINYUN_PERSON = make_id("19850512", seq="457")


def _jinyun_document(attachment: str) -> dict:
    doc = document(
        [attachment],
        id_number=JINYUN_PERSON,
        residence={"division": "331122101", "address": "缙云县五云街道某路3号"},
        registrations=[{"division": "331122", "declared": "2026-01-01", "ended": None}],
    )
    doc["conditions"][0]["division"] = "331122"
    return doc


def _runtimes(tmp_path, database_url, clock):
    (tmp_path / "qt").mkdir()
    (tmp_path / "jy").mkdir()
    qingtian = make_runtime(make_settings(tmp_path / "qt", database_url), clock)
    jinyun = make_runtime(
        make_settings(
            tmp_path / "jy", database_url, issuer="https://jy.example.gov.cn", plugins={"zhejiang_residence": JINYUN}
        ),
        clock,
    )
    for rt in (qingtian, jinyun):
        rt.keystore.ensure_key()
    return qingtian, jinyun


def test_two_counties_decide_side_by_side(tmp_path, database_url, clock):
    qingtian, jinyun = _runtimes(tmp_path, database_url, clock)
    try:
        # building the second runtime left the first one's county alone
        assert configured(qingtian.pm).county.county_code == "331121"
        assert configured(jinyun.pm).county.county_code == "331122"
        import_records(qingtian, QINGTIAN_PERSON, division="331121")
        import_records(jinyun, JINYUN_PERSON, division="331122")
        qt_resident, jy_resident = resident(qingtian, "13800138000"), resident(jinyun, "13900139000")
        qt_reviewer, jy_reviewer = (
            officer(qingtian, "reviewer", "qt-reviewer"),
            officer(jinyun, "reviewer", "jy-reviewer"),
        )

        # interleaved: submit in Qingtian, submit in Jinyun, decide in Jinyun, then in Qingtian
        qt_app = intake.submit_application(
            qingtian.collaborators,
            document([upload(qingtian, qt_resident)], id_number=QINGTIAN_PERSON),
            principal=qt_resident,
            channel="online",
        )
        jy_app = intake.submit_application(
            jinyun.collaborators, _jinyun_document(upload(jinyun, jy_resident)), principal=jy_resident, channel="online"
        )
        assert (qt_app.county, jy_app.county) == ("331121", "331122")
        assert (
            eligibility.evaluate(qingtian.collaborators, qt_app) == []
            and eligibility.evaluate(jinyun.collaborators, jy_app) == []
        )

        jy_decision = decisions.decide(jinyun.collaborators, jy_app.id, approve=True, principal=jy_reviewer)
        qt_decision = decisions.decide(qingtian.collaborators, qt_app.id, approve=True, principal=qt_reviewer)

        qt_credential = issuance.credential_for(qingtian.collaborators, qt_decision.credential_id)
        jy_credential = issuance.credential_for(jinyun.collaborators, jy_decision.credential_id)
        assert qt_credential.claims["cty"] == "331121" and qt_credential.permit_no.startswith("ZJ331121")
        assert qt_credential.claims["ben"] == benefit_mask(BENEFIT_CODES)
        assert qt_credential.claims["iss"] == "https://qt.example.gov.cn"
        assert jy_credential.claims["cty"] == "331122" and jy_credential.permit_no.startswith("ZJ331122")
        assert jy_credential.claims["ben"] == benefit_mask(("compulsory_education", "public_health"))
        assert jy_credential.claims["iss"] == "https://jy.example.gov.cn"
    finally:
        qingtian.close()
        jinyun.close()


def test_each_county_applies_its_own_rules(tmp_path, database_url, clock):
    """The same Jinyun application: eligible in Jinyun, outside the county in Qingtian."""
    qingtian, jinyun = _runtimes(tmp_path, database_url, clock)
    try:
        import_records(qingtian, JINYUN_PERSON, division="331122")
        person = resident(qingtian, "13900139000")
        doc = _jinyun_document(upload(qingtian, person))
        at_qingtian = intake.submit_application(qingtian.collaborators, doc, principal=person, channel="online")
        in_qingtian = {f.code for f in eligibility.evaluate(qingtian.collaborators, at_qingtian) if f.blocking}
        assert {"RESIDENCE_OUTSIDE_COUNTY", "NO_QUALIFYING_CONDITION", "REGISTRATION_NOT_CURRENT"} <= in_qingtian
        # the same document, the same records (one database), read by the Jinyun runtime
        assert eligibility.evaluate(jinyun.collaborators, at_qingtian) == []
        messages = [f.message_zh for f in eligibility.evaluate(qingtian.collaborators, at_qingtian)]
        assert any("青田县" in m for m in messages) and not any("缙云县" in m for m in messages)
    finally:
        qingtian.close()
        jinyun.close()
