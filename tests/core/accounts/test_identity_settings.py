"""The ``[identity]`` table: the provider's settings, every problem at once, and the SMS-code
sign-in -- the development default, refused in production unless enabled explicitly."""

from __future__ import annotations

import pytest

from govcred.core.accounts.identity_settings import identity_settings
from govcred.core.config import load_settings
from govcred.core.exceptions import ConfigError
from govcred.core.web import create_app
from govcred.testing import TEST_ENV, make_runtime, make_settings
from tests.core.web.pages.pagekit import csrf_of

PROVIDER = {
    "issuer": "https://zlb.example.gov.cn",
    "client_id": "govcred-qingtian",
    "client_secret": "from the file",
}


def write(tmp_path, text: str):
    (tmp_path / "govcred.toml").write_text(text, encoding="utf-8")


def test_the_table_is_read_from_the_file_and_the_secret_from_the_environment(tmp_path):
    write(
        tmp_path,
        """
[identity]
sms_sign_in = false
[identity.oidc]
issuer = "https://zlb.example.gov.cn"
client_id = "govcred-qingtian"
client_secret = "from the file"
scopes = ["openid", "profile", "idcard"]
id_number_claim = "idcard_no"
assurance_claim = "auth_level"
assurance_levels = [1, 2, 3, 4]
minimum_assurance = 2
""",
    )
    settings = load_settings(tmp_path, env={"GOVCRED_OIDC_CLIENT_SECRET": "from the environment"})
    parsed = identity_settings(settings)
    assert parsed.sms_sign_in is False and parsed.sms_explicit
    oidc = parsed.oidc
    assert oidc.client_secret == "from the environment"
    assert oidc.scopes == ("openid", "profile", "idcard") and oidc.id_number_claim == "idcard_no"
    assert oidc.assurance_sufficient("2") and oidc.assurance_sufficient("4")
    assert not oidc.assurance_sufficient("1") and not oidc.assurance_sufficient("5")
    assert settings.redacted()["identity"]["oidc"]["client_secret"] == "********"


def test_every_problem_of_the_table_is_named_at_once(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(
            tmp_path,
            env={},
            identity={
                "sms": True,
                "sms_sign_in": "yes",
                "oidc": {
                    "issuer": "zlb.example.gov.cn",
                    "scopes": ["profile"],
                    "minimum_assurance": "5",
                    "timeout_seconds": 0,
                    "claim": "x",
                },
            },
        )
    problems = caught.value.details["problems"]
    for expected in (
        "[identity] 中有未知的设置 'sms'",
        "identity.sms_sign_in 应为 true 或 false",
        "[identity.oidc] 中有未知的设置 'claim'",
        "identity.oidc.issuer 应为 http(s) 网址",
        "identity.oidc.client_id 应为非空字符串（未设置）",
        "缺少 identity.oidc.client_secret（或设置环境变量 GOVCRED_OIDC_CLIENT_SECRET）",
        "identity.oidc.scopes 须包含 'openid'",
        "identity.oidc.minimum_assurance 应为 assurance_levels 中的一项（1、2、3、4），现为 '5'",
        "identity.oidc.timeout_seconds 应为 1 到 60 之间的数",
    ):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


def test_production_needs_an_https_provider(tmp_path):
    env = {**TEST_ENV, "GOVCRED_MODE": "production"}
    with pytest.raises(ConfigError, match=r"production mode needs an https:// identity.oidc.issuer"):
        load_settings(tmp_path, env=env, identity={"oidc": {**PROVIDER, "issuer": "http://zlb.example.gov.cn"}})


@pytest.fixture
def production(data_dir, sqlite_url, clock):
    built = []

    def runtime(**identity):
        # no plugin: their own production refusals (placeholder codes, backends) are not the subject
        settings = make_settings(data_dir, sqlite_url, mode="production", identity=identity)
        rt = make_runtime(settings, clock, plugins=[])
        built.append(rt)
        return rt

    yield runtime
    for rt in built:
        rt.close()


def test_production_refuses_to_start_with_the_sms_sign_in_alone(production):
    with pytest.raises(ConfigError) as caught:
        create_app(runtime=production())
    message = str(caught.value)
    assert "production mode refuses the SMS-code sign-in" in message
    assert "identity.sms_sign_in = true" in message and "[identity.oidc]" in message


def test_production_starts_with_the_provider_and_without_the_sms_sign_in(production):
    client = create_app(runtime=production(oidc=PROVIDER)).test_client()
    page = client.get("/resident/login").get_data(as_text=True)
    assert "实名认证登录" in page and "获取验证码" not in page
    token = csrf_of(client.get("/officer/login").data)  # the resident page has no form left
    sent = client.post("/resident/login/code", data={"csrf_token": token, "phone": "13900000011"})
    assert sent.status_code == 403 and "短信验证码登录未开放" in sent.get_data(as_text=True)
    api = client.post("/api/v1/auth/sms-code", json={"phone": "13900000011"})
    assert api.status_code == 403 and api.get_json()["code"] == "SMS_SIGN_IN_DISABLED"
    token = client.post("/api/v1/auth/resident-token", json={"phone": "13900000011", "code": "123456"})
    assert token.status_code == 403 and token.get_json()["code"] == "SMS_SIGN_IN_DISABLED"


def test_an_administrator_may_enable_the_sms_fallback_in_production_explicitly(production):
    client = create_app(runtime=production(sms_sign_in=True)).test_client()
    page = client.get("/resident/login").get_data(as_text=True)
    assert "获取验证码" in page
