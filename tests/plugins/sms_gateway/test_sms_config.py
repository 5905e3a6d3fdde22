"""Configuration errors name every problem at once, at govcred_configure; the host's
``GOVCRED_SMS_*`` variables override ``[plugins.sms_gateway]``."""

from __future__ import annotations

import pytest

from govcred.core.config import load_settings
from govcred.core.exceptions import ConfigError
from govcred.plugins.sms_gateway.config import sms_config
from govcred.plugins.sms_gateway.templates import TEMPLATES
from govcred.testing import TEST_ENV, make_pm, make_settings
from tests.production import PRODUCTION_PLUGIN_SETTINGS


def _sms(data_dir, **table):
    return make_settings(data_dir, plugins={"sms_gateway": table})


def test_defaults_are_the_development_log(data_dir):
    config = sms_config(make_settings(data_dir))
    assert config.backend == "dev" and config.sign_name == "青田公安"
    assert (config.login_codes_per_hour, config.notifications_per_day) == (5, 10)


def test_every_problem_is_listed(data_dir):
    settings = _sms(
        data_dir,
        backend="aliyun",
        url="ftp://x",
        signature="青田公安",
        login_codes_per_hour=0,
        read_timeout="10",
        template_codes={"promo": "SMS_1"},
        colour="red",
    )
    with pytest.raises(ConfigError) as info:
        sms_config(settings)
    problems = info.value.details["problems"]
    joined = "\n".join(problems)
    for expected in (
        "unknown setting 'colour'",
        "signature must be",
        "login_codes_per_hour must be",
        "read_timeout must be",
        "unknown template 'promo'",
        "url must be an http(s) URL",
        "needs [plugins.sms_gateway] access_key_id",
        "needs access_key_secret",
        "needs template_codes for",
    ):
        assert expected in joined, expected
    assert len(problems) == 9


def test_aliyun_secret_may_come_from_the_environment(data_dir):
    settings = load_settings(
        data_dir,
        env={**TEST_ENV, "GOVCRED_SMS_BACKEND": "aliyun", "GOVCRED_SMS_SECRET": "from-env-secret"},
        plugins={"sms_gateway": {"access_key_id": "LTAI5t", "template_codes": dict.fromkeys(TEMPLATES, "SMS_1")}},
    )
    config = sms_config(settings)
    assert config.backend == "aliyun"
    assert config.access_key_secret == "from-env-secret" and config.endpoint.startswith("https://dysmsapi")


def test_environment_variables_override_the_table(data_dir):
    table = {"backend": "dev", "url": "https://table.example/sms", "signature": "【缙云公安】", "secret": "table"}
    env = {
        **TEST_ENV,
        "GOVCRED_SMS_BACKEND": "http",
        "GOVCRED_SMS_URL": "https://env.example/sms",
        "GOVCRED_SMS_SECRET": "env-secret",
        "GOVCRED_SMS_SIGNATURE": "【丽水公安】",
    }
    config = sms_config(load_settings(data_dir, env=env, plugins={"sms_gateway": table}))
    assert (config.backend, config.url, config.http_secret, config.signature) == (
        "http",
        "https://env.example/sms",
        "env-secret",
        "【丽水公安】",
    )
    # an empty variable is no override
    config = sms_config(
        load_settings(data_dir, env={**TEST_ENV, "GOVCRED_SMS_URL": ""}, plugins={"sms_gateway": table})
    )
    assert (config.backend, config.url, config.signature) == ("dev", "https://table.example/sms", "【缙云公安】")


def test_unknown_backends_and_an_http_backend_without_url(data_dir):
    with pytest.raises(ConfigError, match="Tencent client is not part of this plugin"):
        sms_config(_sms(data_dir, backend="tencent"))
    with pytest.raises(ConfigError, match="needs url"):
        sms_config(_sms(data_dir, backend="http"))


def test_configure_hook_rejects_a_bad_config(data_dir):
    with pytest.raises(ConfigError, match="notifications_per_day"):
        make_pm(_sms(data_dir, notifications_per_day=-1))


def test_production_refuses_the_development_backend_and_not_a_real_one(data_dir):
    """Named to the start-up check (tests/core/test_production_checks.py runs it end to end)."""
    settings = make_settings(data_dir, mode="production", plugins=PRODUCTION_PLUGIN_SETTINGS)
    (refused,) = [p for found in make_pm(settings).hook.govcred_production_refusals(settings=settings) for p in found]
    assert "production mode refuses the development SMS backend" in refused
    real = {**PRODUCTION_PLUGIN_SETTINGS, "sms_gateway": {"backend": "http", "url": "https://sms.example.gov.cn"}}
    settings = make_settings(data_dir, mode="production", plugins=real)
    assert not [p for found in make_pm(settings).hook.govcred_production_refusals(settings=settings) for p in found]
