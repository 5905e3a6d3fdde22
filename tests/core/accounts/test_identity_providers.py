"""The resident identity provider hook: a plugin's provider is offered on the log-in page and
goes through core's rules (state, single use, minimum assurance, audit); names are unique."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from govcred.core.accounts.identity import AuthorizationStart, VerifiedIdentity, collect_identity_providers
from govcred.core.exceptions import ConfigError
from govcred.core.hookspecs import hookimpl
from govcred.core.web import create_app
from govcred.testing import make_pm, make_runtime, make_settings
from tests.core.accounts.oidc_kit import identity_audit
from tests.core.workflow_helpers import APPLICANT_ID


class CountyCardReader:
    """A provider of a plugin's own (say, the county's ID-card reader kiosks)."""

    name, label = "card_reader", "身份证读卡登录"

    def __init__(self, level="high"):
        self.level = level

    def authorization(self, redirect_uri):
        return AuthorizationStart(url=f"https://kiosk.example/read?back={redirect_uri}&s=st", state="st")

    def verify(self, params, secrets, redirect_uri, now):
        return VerifiedIdentity(
            provider=self.name,
            issuer="https://kiosk.example",
            subject="card-1",
            name="张三明",
            id_number=APPLICANT_ID,
            assurance=self.level,
            assurance_sufficient=self.level == "high",
            minimum_assurance="high",
        )


class Plugin:
    def __init__(self, *providers):
        self.providers = providers

    @hookimpl
    def govcred_identity_providers(self, register, settings):
        for provider in self.providers:
            register(provider)


@pytest.fixture
def build(data_dir, sqlite_url, clock):
    made = []

    def runtime(*providers):
        rt = make_runtime(make_settings(data_dir, sqlite_url), clock, extra_plugins=[(Plugin(*providers), "kiosk")])
        made.append(rt)
        return rt

    yield runtime
    for rt in made:
        rt.close()


def test_a_plugin_s_provider_signs_residents_in_through_core_s_rules(build):
    rt = build(CountyCardReader())
    client = create_app(runtime=rt).test_client()
    assert "身份证读卡登录" in client.get("/resident/login").get_data(as_text=True)
    start = client.get("/resident/identity/card_reader/start")
    assert start.status_code == 303 and start.headers["Location"].startswith("https://kiosk.example/read")
    back = parse_qs(urlsplit(start.headers["Location"]).query)
    done = client.get(urlsplit(back["back"][0]).path + "?state=st")
    assert done.status_code == 302 and done.headers["Location"] == "/resident/home"
    assert identity_audit(rt)[-1] == ("auth.identity_login", "success", "card_reader")


def test_core_refuses_a_plugin_identity_below_its_minimum(build):
    rt = build(CountyCardReader(level="low"))
    client = create_app(runtime=rt).test_client()
    client.get("/resident/identity/card_reader/start")
    page = client.get("/resident/identity/card_reader/callback?state=st")
    assert page.status_code == 401 and "认证等级（low）低于办理居住证要求的等级（high）" in page.get_data(as_text=True)
    assert identity_audit(rt)[-1] == ("auth.identity_login", "failure", "ASSURANCE_TOO_LOW")


@pytest.mark.parametrize("name", ["sms_code", "window", "not a name"])
def test_a_provider_may_not_take_an_identity_source_of_core_s(data_dir, name):
    reader = CountyCardReader()
    reader.name = name
    pm = make_pm(make_settings(data_dir), extra=[(Plugin(reader), "kiosk")])
    with pytest.raises(ConfigError, match="needs a name other than sms_code and window"):
        collect_identity_providers(pm, make_settings(data_dir))


def test_two_providers_of_one_name_are_a_config_error(data_dir):
    pm = make_pm(make_settings(data_dir), extra=[(Plugin(CountyCardReader(), CountyCardReader()), "kiosk")])
    with pytest.raises(ConfigError, match="'card_reader' registered twice"):
        collect_identity_providers(pm, make_settings(data_dir))
