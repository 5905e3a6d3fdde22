import datetime as dt

import pluggy
import pytest

import govcred.core.hookspecs
from govcred import core
import govcred.plugins.zhejiang_residence as zj
from govcred.core.config import Settings
from govcred.core.exceptions import ConfigError
from govcred.core.models import Application, Decision, EligibilityContext
from govcred.plugins.zhejiang_residence import county
from tests.plugins.zhejiang_residence.zj_fixtures import APPLICANT_ID, base_document, context, regs


@pytest.fixture
def pm():
    manager = pluggy.PluginManager(core.hookspecs.PROJECT)
    manager.add_hookspecs(core.hookspecs)
    manager.register(zj)
    manager.check_pending()
    manager.hook.govcred_configure.call_historic(kwargs={"settings": Settings()})
    try:
        yield manager
    finally:
        manager.unregister(zj)
        county.configure(Settings())  # drop what govcred_configure installed


def _application(doc):
    return Application(schema=doc["schema"], channel=doc["channel"], document=doc)


def test_hook_credential_types(pm):
    seen = []
    pm.hook.govcred_credential_types(register=lambda name, **kw: seen.append((name, kw)))
    ((name, kw),) = seen
    assert name == "zj-residence-permit"
    assert kw["application_schema"] == "zj-residence/application@1"
    assert kw["display_name"] == "浙江省居住证"
    assert kw["benefits"]["compulsory_education"] == "义务教育" and len(kw["benefits"]) == 11


def test_hook_validate_application(pm):
    assert pm.hook.govcred_validate_application(document=base_document()) == []
    errors = pm.hook.govcred_validate_application(document=base_document(channel="fax", path=None))
    assert {e.field for e in errors} == {"channel", "path"}
    assert pm.hook.govcred_validate_application(document={"schema": "other@1"}) is None


def test_hook_application_subject(pm):
    doc = base_document()
    doc["applicant"]["id_number"] = " 11010519491231002x"
    assert pm.hook.govcred_application_subject(document=doc) == {
        "name": "张三明", "id_number": "11010519491231002X", "phone": "13800138000", "county": "331121",
    }
    assert pm.hook.govcred_application_subject(document={"schema": "other@1"}) is None


def test_hook_configure_sets_county_and_rejects_bad_config(pm):
    pm.hook.govcred_configure.call_historic(
        kwargs={"settings": Settings(plugins={"zhejiang_residence": {"county_code": "331122", "county_name": "缙云县",
                                                                      "authority": "缙云县公安局"}})}
    )
    assert pm.hook.govcred_application_subject(document=base_document())["county"] == "331122"
    with pytest.raises(ConfigError):
        pm.hook.govcred_configure.call_historic(
            kwargs={"settings": Settings(plugins={"zhejiang_residence": {"max_gap_days": 99}})}
        )


def test_hook_records_from_document_and_eligibility_dry_run(pm):
    doc = base_document(registrations=[{"division": "331121", "declared": "2026-08-31", "ended": None}])
    records = pm.hook.govcred_records_from_document(document=doc)
    app = _application(doc)
    too_early = EligibilityContext(as_of=dt.date(2027, 2, 28), records=records)
    results = pm.hook.govcred_eligibility_rules(application=app, context=too_early)
    assert [[f.code for f in r] for r in results] == [["REGISTRATION_TOO_SHORT"]]
    on_time = EligibilityContext(as_of=dt.date(2027, 3, 1), records=records)
    assert pm.hook.govcred_eligibility_rules(application=app, context=on_time) == [[]]
    assert pm.hook.govcred_records_from_document(document={"schema": "other@1"}) is None


def test_hook_eligibility_ignores_other_schemas(pm):
    other = Application(schema="other@1", channel="online", document={})
    assert pm.hook.govcred_eligibility_rules(application=other, context=context()) == []


def test_hook_credential_claims_and_benefit_check(pm):
    doc = base_document()
    app = _application(doc)
    decided = dt.datetime(2027, 3, 1, 3, 0, tzinfo=dt.timezone.utc)
    decision = Decision(app.id, True, [], [], "reviewer-1", decided)
    (claims,) = pm.hook.govcred_credential_claims(application=app, decision=decision, context=context())
    assert claims["idm"] == APPLICANT_ID[:4] + "**********" + APPLICANT_ID[-4:]
    assert claims["_exp"] == dt.datetime(2028, 3, 1, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert set(claims) == {"ct", "n", "idm", "cty", "b", "ben", "rs", "_exp"}
    assert pm.hook.govcred_benefit_check(claims=claims, benefit="exit_entry") is True
    assert pm.hook.govcred_benefit_check(claims=claims, benefit="unknown_benefit") is None


def test_hook_benefit_codes(pm):
    seen = {}
    pm.hook.govcred_benefit_codes(register=seen.__setitem__)
    assert len(seen) == 11 and seen["legal_aid"] == "法律援助和其他法律服务"
