"""The kit's fixtures do what plugin authors are told they do (docs/plugins.md)."""

from __future__ import annotations

import importlib.metadata

import pytest

from govcred.core import hookimpl
from govcred.testing import builtin_plugins, make_pm


def test_pytest_finds_the_kit_through_its_entry_point():
    (entry,) = [ep for ep in importlib.metadata.distribution("govcred").entry_points if ep.group == "pytest11"]
    assert (entry.name, entry.value) == ("govcred", "govcred.testing.plugin")


def test_the_built_ins_are_the_govcred_entry_points_of_govcred_itself():
    found = {name: plugin.__name__ for plugin, name in builtin_plugins()}
    assert found == {
        "provincial_push": "govcred.plugins.provincial_push",
        "sms_gateway": "govcred.plugins.sms_gateway",
        "zhejiang_residence": "govcred.plugins.zhejiang_residence",
        "verifier": "govcred.verifier.cli",
    }


class Marker:
    @hookimpl
    def govcred_eligibility_rules(self, application, context):
        return None


def test_make_pm_registers_exactly_the_plugins_it_is_given():
    pm = make_pm(plugins=[(Marker(), "marker")])
    assert {name for name, _ in pm.list_name_plugin()} == {"govcred.core.defaults", "marker"}
    default = make_pm(extra=[(Marker(), "marker")])
    assert {name for name, _ in default.list_name_plugin()} == {
        "govcred.core.defaults",
        "marker",
        "provincial_push",
        "sms_gateway",
        "verifier",
        "zhejiang_residence",
    }


def test_a_suite_adds_its_plugin_by_overriding_govcred_plugins(pytester):
    pytester.makeconftest(
        "import pytest\n"
        "from govcred.core import hookimpl\n"
        "class Extra:\n"
        "    @hookimpl\n"
        "    def govcred_delivery_channels(self, register, settings):\n"
        "        register('extra_channel', print)\n"
        "@pytest.fixture(scope='session')\n"
        "def govcred_plugins(govcred_plugins):\n"
        "    return [*govcred_plugins, (Extra(), 'extra')]\n"
    )
    pytester.makepyfile(
        "def test_manager(plugin_manager):\n"
        "    assert plugin_manager.has_plugin('extra') and plugin_manager.has_plugin('zhejiang_residence')\n"
        "def test_runtime(sqlite_runtime):\n"
        "    assert sqlite_runtime.channels['extra_channel'] is print\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_outbox_inspector_sees_committed_rows_by_channel(runtime, outbox_inspector):
    with runtime.uow() as uow:
        uow.outbox.add(
            "sms",
            "kit.one",
            {"n": 1},
            aggregate_type="application",
            aggregate_id="a-1",
            secret={"phone": "13800138000"},
        )
        uow.outbox.add("push", "kit.two", {"n": 2}, aggregate_type="application", aggregate_id="a-1")
        uow.outbox.add("sms", "kit.three", {"n": 3}, aggregate_type="application", aggregate_id="a-1")
        uow.commit()
    with runtime.uow() as uow:  # rolled back: never written
        uow.outbox.add("sms", "kit.uncommitted", {}, aggregate_type="application", aggregate_id="a-2")
    assert outbox_inspector.by_channel() == {"sms": ["kit.one", "kit.three"], "push": ["kit.two"]}
    assert outbox_inspector.event_types("sms") == ["kit.one", "kit.three"]
    (message,) = outbox_inspector.messages("sms", event_type="kit.one")
    assert message.secrets == {"phone": "13800138000"} and message.payload["n"] == 1


def test_the_client_talks_to_the_app_around_the_runtime(client, runtime):
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert [key["kid"] for key in jwks["keys"]] == [runtime.keystore.ensure_key().kid]


def test_the_clock_is_fixed_until_moved(clock):
    start = clock.now()
    assert clock.now() == start
    clock.advance(hours=1)
    assert (clock.now() - start).total_seconds() == 3600


@pytest.mark.redis
def test_each_test_gets_an_empty_redis_database(pytester, redis_client):
    redis_client.set("govcred-kit-outer", "1")  # the inner session starts with it gone
    pytester.makepyfile(
        "def test_first(redis_client):\n"
        "    assert redis_client.dbsize() == 0\n"
        "    redis_client.set('govcred-kit', '1')\n"
        "def test_second(redis_client):\n    assert redis_client.dbsize() == 0\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
    assert redis_client.dbsize() == 0  # and emptied after the last test


def test_the_cli_runs_against_the_runtime(govcred_cli, runtime):
    result = govcred_cli("officer", "add", "kit-clerk", "--role", "clerk", "--password", "a long enough passphrase")
    assert result.exit_code == 0, result.output
    with runtime.uow(readonly=True) as uow:
        assert uow.officers.by_username("kit-clerk").role == "clerk"
    assert govcred_cli("records", "--help").exit_code == 0  # a plugin's command (zhejiang_residence)
