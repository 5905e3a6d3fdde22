import datetime as dt

import pytest

import govcred.plugins.zhejiang_residence as zj
from govcred.core.config import Settings
from govcred.core.credential_types import collect_credential_types
from govcred.core.exceptions import ConfigError
from govcred.core.models import Application, Decision, EligibilityContext
from govcred.core.plugins import get_plugin_manager
from govcred.plugins.zhejiang_residence.configured import NAME, ZhejiangResidence
from tests.plugins.zhejiang_residence.zj_fixtures import APPLICANT_ID, JINYUN, base_document, context


def _pm(settings=None):
    return get_plugin_manager(
        load_entrypoints=False, disabled=(), extra=[(zj, "zhejiang_residence")], settings=settings or Settings()
    )


@pytest.fixture
def permit_type():
    return collect_credential_types(_pm())["zj-residence/application@1"]


def _application(doc):
    return Application(schema=doc["schema"], channel=doc["channel"], document=doc)


def test_configure_registers_a_configured_object():
    pm = _pm()
    assert isinstance(pm.get_plugin(NAME), ZhejiangResidence)
    assert pm.get_plugin(NAME).county.county_code == "331121"
    # the module itself keeps no configuration
    assert not [n for n, v in vars(zj).items() if isinstance(v, ZhejiangResidence)]


def test_credential_type(permit_type):
    assert permit_type.name == "zj-residence-permit"
    assert permit_type.application_schema == "zj-residence/application@1"
    assert permit_type.display_name == "浙江省居住证"
    assert permit_type.benefits["compulsory_education"] == "义务教育" and len(permit_type.benefits) == 11


def test_validate(permit_type):
    assert permit_type.validate(base_document()) == []
    errors = permit_type.validate(base_document(channel="fax", path=None))
    assert {e.field for e in errors} == {"channel", "path"}


def test_subject(permit_type):
    doc = base_document()
    doc["applicant"]["id_number"] = " 11010519491231002x"
    assert permit_type.subject(doc) == {
        "name": "张三明",
        "id_number": "11010519491231002X",
        "phone": "13800138000",
        "county": "331121",
    }


def test_configure_sets_county_and_rejects_bad_config():
    jinyun = collect_credential_types(_pm(Settings(plugins={"zhejiang_residence": JINYUN})))
    assert jinyun["zj-residence/application@1"].subject(base_document())["county"] == "331122"
    with pytest.raises(ConfigError):
        _pm(Settings(plugins={"zhejiang_residence": {"max_gap_days": 99}}))


def test_records_from_document_and_eligibility_dry_run(permit_type):
    doc = base_document(registrations=[{"division": "331121", "declared": "2026-08-31", "ended": None}])
    records = permit_type.records_from_document(doc)
    app = _application(doc)
    too_early = EligibilityContext(as_of=dt.date(2027, 2, 28), records=records)
    assert [f.code for f in permit_type.eligibility_findings(app, too_early)] == ["REGISTRATION_TOO_SHORT"]
    on_time = EligibilityContext(as_of=dt.date(2027, 3, 1), records=records)
    assert permit_type.eligibility_findings(app, on_time) == []


def test_the_plugin_adds_no_rules_to_other_schemas():
    pm = _pm()
    other = Application(schema="other@1", channel="online", document={})
    assert pm.hook.govcred_eligibility_rules(application=other, context=context()) == []


def test_claims_and_benefit_check(permit_type):
    doc = base_document()
    app = _application(doc)
    decided = dt.datetime(2027, 3, 1, 3, 0, tzinfo=dt.UTC)
    decision = Decision(app.id, True, [], [], "reviewer-1", decided)
    claims = permit_type.claims(app, decision, context())
    assert claims["idm"] == APPLICANT_ID[:4] + "**********" + APPLICANT_ID[-4:]
    assert claims["_exp"] == dt.datetime(2028, 3, 1, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert set(claims) == {"ct", "n", "idm", "cty", "b", "ben", "rs", "_exp"}
    assert permit_type.benefit_check(claims, "exit_entry") is True
    assert permit_type.benefit_check(claims, "unknown_benefit") is None
    assert permit_type.benefit_check({"ct": "other"}, "exit_entry") is None


def test_benefit_labels_through_the_registry():
    labels = collect_credential_types(_pm()).benefits()
    assert len(labels) == 11 and labels["legal_aid"] == "法律援助和其他法律服务"
