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


def install_distribution(tmp_path, monkeypatch, *, source: str, module: str, entry: str, dist: str, version: str):
    """A throwaway distribution ``dist`` whose ``govcred`` entry point ``entry`` is ``module``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[govcred]\n{entry} = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def third_party_plugin(tmp_path, monkeypatch):
    """Install a throwaway distribution ``govcred-thirdparty`` declaring a ``govcred`` entry point."""
    return install_distribution(
        tmp_path,
        monkeypatch,
        source=THIRD_PARTY,
        module="govcred_thirdparty_rule",
        entry="thirdparty_rule",
        dist="govcred-thirdparty",
        version="0.3.1",
    )


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
    """check_pending(): a hookimpl without a spec (a typo) stops start-up, named with the hook
    it was probably meant to be (it was pluggy's PluginValidationError, a traceback)."""
    from govcred.core import hookimpl
    from govcred.core.exceptions import ConfigError

    class Typo:
        @hookimpl
        def govcred_eligibilty_rules(self, application, context):  # sic
            return []

    with pytest.raises(ConfigError) as refused:
        get_plugin_manager(load_entrypoints=False, extra=[(Typo(), "typo")])
    assert refused.value.message.startswith(
        "插件 typo 实现了不存在的钩子 govcred_eligibilty_rules（是否应为 govcred_eligibility_rules？）"
    )
    assert "GOVCRED_DISABLE_PLUGINS=typo" in refused.value.message


TYPO_PLUGIN = """
from govcred.core import hookimpl


@hookimpl
def govcred_eligibilty_rules(application, context):
    return []


@hookimpl
def govcred_credential_type(register):
    return None
"""


def test_an_installed_plugin_with_a_typo_is_named_by_every_command_without_a_traceback(tmp_path, monkeypatch, capsys):
    from govcred.core.cli import main

    install_distribution(
        tmp_path,
        monkeypatch,
        source=TYPO_PLUGIN,
        module="govcred_typo_rule",
        entry="typo_rule",
        dist="govcred-typo",
        version="0.1",
    )
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(tmp_path / "var"), "plugins"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("配置错误 (configuration error):\n")
    assert "插件 typo_rule 实现了不存在的钩子 govcred_eligibilty_rules（是否应为 govcred_eligibility_rules？）" in err
    assert "插件 typo_rule 实现了不存在的钩子 govcred_credential_type（是否应为 govcred_credential_types？）" in err


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


def test_a_block_list_name_no_plugin_has_is_warned_with_the_name_it_was_meant_to_be(monkeypatch, caplog):
    """GOVCRED_DISABLE_PLUGINS=sms_gatway (a typo) was silently ignored: the SMS plugin stayed
    loaded and kept sending."""
    import logging

    monkeypatch.setenv("GOVCRED_DISABLE_PLUGINS", "sms_gatway, provincial_push")
    caplog.set_level(logging.WARNING, logger="govcred.plugins")
    names = {info.name for info in describe_plugins(get_plugin_manager())}
    assert "sms_gateway" in names and "provincial_push" not in names
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "govcred.plugins"]
    assert "sms_gatway 不是已安装的插件" in warning and "是否应为 sms_gateway" in warning
