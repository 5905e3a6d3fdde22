"""The GB/T 36903 record of a credential and the push configuration."""

from __future__ import annotations

import pytest

from govcred.core.exceptions import ConfigError
from govcred.plugins.provincial_push.config import push_config
from govcred.plugins.provincial_push.identifier import is_valid_identifier
from govcred.plugins.provincial_push.record import credential_record, with_holder_code
from govcred.testing import make_pm, make_settings
from tests.plugins.delivery_helpers import ID_NUMBER, SUBJECT, make_application, make_credential


def test_record_fields(data_dir):
    application = make_application()
    credential = make_credential(application, version=2)
    record = credential_record(credential, SUBJECT, push_config(make_settings(data_dir)))
    assert record == {
        "ZZMC": "浙江省居住证",
        "ZZLXDM": "11100000000013127D116",
        "ZZBH": "QT-2026-000123",
        "ZZBS": record["ZZBS"],
        "ZZBFJG": "青田县公安局",
        "ZZBFJGDM": "11331121002503437R",
        "ZZBFRQ": "2026-12-01",
        "CZZT": "张三明",
        "CZZTDMLXDM": "111",
        "ZZYXQQSRQ": "2026-12-01",
        "ZZYXQJZRQ": "2027-12-01",  # 15:59:59 UTC is 23:59:59 Beijing
        "ZZZT": "valid",
        "ZZZTMC": "有效",
        "GXSDBM": "331121",
        "KZ_JZQSRQ": "2026-05-20",
    }
    assert record["ZZBS"].startswith("1.2.156.3005.2.11100000000013127D116.11331121002503437R.QT2026000123.002.")
    assert is_valid_identifier(record["ZZBS"])
    assert ID_NUMBER not in str(record)  # the ID number is added only by the handler
    full = with_holder_code(record, ID_NUMBER)
    assert list(full)[7:9] == ["CZZT", "CZZTDM"] and full["CZZTDM"] == ID_NUMBER


def test_status_override_and_unbuildable_identifier(data_dir):
    application = make_application()
    config = push_config(make_settings(data_dir))
    record = credential_record(make_credential(application), SUBJECT, config, "suspended")
    assert (record["ZZZT"], record["ZZZTMC"]) == ("suspended", "中止")
    with pytest.raises(ValueError, match="serial"):
        credential_record(make_credential(application, permit_no="——"), SUBJECT, config)


def test_own_table_first_then_the_county_plugin(data_dir):
    settings = make_settings(
        data_dir,
        plugins={
            "zhejiang_residence": {"county_code": "331122", "county_name": "缙云县", "authority": "缙云县公安局"},
            "provincial_push": {"authority": "缙云县公安局（证照）"},
        },
    )
    config = push_config(settings)
    assert config.county_code == "331122" and config.authority == "缙云县公安局（证照）"
    assert config.authority_uscc == "11331121002503437R"  # neither table sets it: the default


def test_every_problem_is_listed(data_dir):
    settings = make_settings(
        data_dir,
        plugins={
            "provincial_push": {
                "backend": "http",
                "url": "ftp://x",
                "secret": "short",
                "type_code": "123",
                "authority_uscc": "11331121002503437I",
                "county_code": "33112",
                "authority": " ",
                "read_timeout": 0,
                "extra": 1,
            }
        },
    )
    with pytest.raises(ConfigError) as info:
        push_config(settings)
    problems = "\n".join(info.value.details["problems"])
    for expected in (
        "unknown setting 'extra'",
        "authority must be",
        "type_code must be",
        "authority_uscc must be",
        "county_code must be",
        "read_timeout must be",
        "url must be an http(s) URL",
        "secret must be at least 16",
    ):
        assert expected in problems, expected
    assert len(info.value.details["problems"]) == 8


def test_http_push_needs_url_and_secret_and_configure_checks(data_dir):
    with pytest.raises(ConfigError) as info:
        push_config(make_settings(data_dir, plugins={"provincial_push": {"backend": "http"}}))
    assert len(info.value.details["problems"]) == 2
    with pytest.raises(ConfigError, match="backend must be one of jsonl, http"):
        make_pm(make_settings(data_dir, plugins={"provincial_push": {"backend": "ftp"}}))


def test_environment_variables_override_the_table(data_dir):
    from govcred.core.config import load_settings
    from govcred.testing import TEST_ENV

    env = {
        **TEST_ENV,
        "GOVCRED_PUSH_BACKEND": "http",
        "GOVCRED_PUSH_URL": "https://platform.example/push",
        "GOVCRED_PUSH_SECRET": "env-secret-0123456789",
    }
    config = push_config(load_settings(data_dir, env=env, plugins={"provincial_push": {"url": "https://table"}}))
    assert (config.backend, config.url, config.secret) == (
        "http",
        "https://platform.example/push",
        "env-secret-0123456789",
    )


def test_production_refuses_to_push_with_the_placeholder_codes(tmp_path):
    settings = make_settings(tmp_path, mode="production", issuer="https://jzz.example.gov.cn")
    with pytest.raises(ConfigError) as refused:
        push_config(settings)
    assert any("placeholder authority_uscc" in p for p in refused.value.details["problems"])
    assert any("placeholder type_code" in p for p in refused.value.details["problems"])
