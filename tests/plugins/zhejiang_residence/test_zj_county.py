import datetime as dt

import pytest

import govcred.plugins.zhejiang_residence as zj
from govcred.core.config import Settings
from govcred.core.exceptions import ConfigError
from govcred.core.plugins import get_plugin_manager, standalone_host
from govcred.plugins.zhejiang_residence.claims import credential_claims
from govcred.plugins.zhejiang_residence.configured import ZhejiangResidence
from govcred.plugins.zhejiang_residence.county import DEFAULT_CONFIG, CountyConfig
from govcred.plugins.zhejiang_residence.identifiers import uscc_problem
from govcred.plugins.zhejiang_residence.rules import evaluate
from tests.plugins.zhejiang_residence.zj_fixtures import JINYUN, base_document, context, regs


def test_defaults_are_qingtian_and_valid():
    c = CountyConfig.from_mapping({})
    assert c == DEFAULT_CONFIG
    assert (c.county_code, c.county_name, c.authority) == ("331121", "青田县", "青田县公安局")
    assert c.old_codes == ("332822", "332622")
    assert c.max_gap_days == 0
    assert uscc_problem(c.authority_uscc) is None
    assert uscc_problem(c.permit_type_code[:18]) is None and c.permit_type_code[18:].isdigit()
    assert ZhejiangResidence(standalone_host(None, Settings())).county == c


def test_every_bad_value_listed_at_once():
    with pytest.raises(ConfigError) as err:
        CountyConfig.from_mapping(
            {
                "county_code": "310101",
                "county_name": "",
                "authority_uscc": "11100000000013127E",
                "old_codes": ["3328"],
                "max_gap_days": -1,
                "permit_type_code": "11100000000013127D",
                "benefits": ["free_lunch"],
                "colour": "blue",
            }
        )
    problems = err.value.details["problems"]
    joined = " ".join(problems)
    for key in (
        "county_code",
        "county_name",
        "authority_uscc",
        "old_codes",
        "max_gap_days",
        "permit_type_code",
        "benefits",
        "colour",
    ):
        assert key in joined, key
    assert len(problems) == 8


def test_list_settings_must_be_lists_of_strings():
    with pytest.raises(ConfigError) as err:
        CountyConfig.from_mapping({"old_codes": "332822", "benefits": [1], "max_gap_days": True})
    assert len(err.value.details["problems"]) == 3


def test_another_county_by_configuration_alone():
    jinyun = CountyConfig.from_mapping(JINYUN)
    doc = base_document()
    doc["residence"]["division"] = "331122101"
    doc["conditions"][0]["division"] = "331122"
    ctx = context(regs(("331122", "2026-01-01", None)))
    assert evaluate(doc, ctx, jinyun) == []

    # Qingtian is just another county for a Jinyun deployment
    qingtian = base_document()
    findings = evaluate(qingtian, context(regs(("331121", "2026-01-01", None))), jinyun)
    assert sorted(f.code for f in findings) == [
        "CONDITION_OUTSIDE_COUNTY",
        "NO_QUALIFYING_CONDITION",
        "REGISTRATION_NOT_CURRENT",
        "RESIDENCE_OUTSIDE_COUNTY",
    ]
    assert all("缙云县" in f.message_zh and "青田" not in f.message_zh for f in findings)

    # Jinyun's old code makes a hukou local; Qingtian's does not
    doc["applicant"]["hukou_division"] = "332823"
    assert [f.code for f in evaluate(doc, ctx, jinyun)] == ["LOCAL_HUKOU"]
    doc["applicant"]["hukou_division"] = "332822"
    assert evaluate(doc, ctx, jinyun) == []

    claims = credential_claims(doc, ctx, dt.datetime(2027, 3, 1, 10, tzinfo=dt.UTC), jinyun)
    assert claims["cty"] == "331122" and claims["ben"] == 0b101  # compulsory_education, public_health


def test_bad_plugin_table_raises_at_configuration():
    settings = Settings(plugins={"zhejiang_residence": {"county_code": "33112"}})
    with pytest.raises(ConfigError) as err:
        get_plugin_manager(load_entrypoints=False, disabled=(), extra=[(zj, "zhejiang_residence")], settings=settings)
    assert "county_code" in err.value.message
