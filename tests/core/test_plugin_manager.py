"""The plugin manager: entry points (built-ins too), the block list, third-party plugins."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from govcred.core.models import Application, EligibilityContext, PersonRecords
from govcred.core.plugins import describe_plugins, get_plugin_manager

THIRD_PARTY = '''
"""A county's extra rule, shipped as its own distribution."""
from govcred.core import hookimpl
from govcred.core.models import Finding


@hookimpl
def govcred_eligibility_rules(application, context):
    if application.document.get("applicant", {}).get("name", "").startswith("测试"):
        return [Finding("TEST_NAME_REFUSED", "blocking", "测试姓名不受理", "第三方测试规则")]
    return []
'''


@pytest.fixture
def third_party_plugin(tmp_path, monkeypatch):
    """Install a throwaway distribution ``govcred-thirdparty`` declaring a ``govcred`` entry point."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "govcred_thirdparty_rule.py").write_text(THIRD_PARTY, encoding="utf-8")
    info = site / "govcred_thirdparty-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: govcred-thirdparty\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text("[govcred]\nthirdparty_rule = govcred_thirdparty_rule\n")
    monkeypatch.syspath_prepend(str(site))
    return site


def _application(name: str) -> Application:
    from tests.plugins.zhejiang_residence.zj_fixtures import base_document

    document = base_document()
    document["applicant"]["name"] = name
    return Application(schema="zj-residence/application@1", channel="online", document=document)


def test_builtin_plugins_load_through_entry_points():
    pm = get_plugin_manager(disabled=())
    names = {info.name for info in describe_plugins(pm)}
    assert {"zhejiang_residence", "sms_gateway", "provincial_push", "govcred.core.defaults"} <= names


def test_block_list_from_environment(monkeypatch):
    monkeypatch.setenv("GOVCRED_DISABLE_PLUGINS", "sms_gateway, provincial_push")
    pm = get_plugin_manager()
    names = {info.name for info in describe_plugins(pm)}
    assert "sms_gateway" not in names and "provincial_push" not in names
    assert "zhejiang_residence" in names


def test_third_party_rule_runs_without_touching_core(third_party_plugin):
    pm = get_plugin_manager(disabled=())
    info = {p.name: p for p in describe_plugins(pm)}["thirdparty_rule"]
    assert (info.distribution, info.version) == ("govcred-thirdparty", "0.3.1")
    assert info.hooks == ("govcred_eligibility_rules",)
    context = EligibilityContext(as_of=dt.date(2026, 11, 30), records=PersonRecords())
    results = pm.hook.govcred_eligibility_rules(application=_application("测试人"), context=context)
    codes = [f.code for findings in results if findings for f in findings]
    assert "TEST_NAME_REFUSED" in codes


def test_misspelled_hook_is_refused(tmp_path, monkeypatch):
    """check_pending(): a hookimpl without a spec (a typo) stops start-up."""
    from pluggy import PluginValidationError

    from govcred.core import hookimpl

    class Typo:
        @hookimpl
        def govcred_eligibilty_rules(self, application, context):  # sic
            return []

    with pytest.raises(PluginValidationError):
        get_plugin_manager(load_entrypoints=False, extra=[(Typo(), "typo")])


def test_plugins_command_lists_plugins_with_versions_and_hooks(third_party_plugin, tmp_path, monkeypatch):
    from govcred.core.cli import AppContext, build_cli
    from govcred.testing import TEST_ENV

    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("GOVCRED_DISABLE_PLUGINS", raising=False)
    cli = build_cli()
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "var"), "plugins"], obj=AppContext(str(tmp_path / "var"))
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for name in ("zhejiang_residence", "sms_gateway", "provincial_push", "thirdparty_rule"):
        assert name in out
    assert "govcred-thirdparty 0.3.1" in out
    assert "govcred_eligibility_rules" in out


def test_a_configured_object_is_listed_with_its_plugin():
    from govcred.core.config import Settings
    from govcred.testing import make_pm

    info = {p.name: p for p in describe_plugins(make_pm(Settings()))}
    assert "zhejiang_residence.configured" not in info
    zj = info["zhejiang_residence"]
    assert {"govcred_configure", "govcred_credential_types", "govcred_person_records"} <= set(zj.hooks)
