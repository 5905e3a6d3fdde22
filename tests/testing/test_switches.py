"""Every environment-dependent fixture of the kit skips without its component, and errors
instead when its ``require`` switch is set. Each case runs a small pytest session (pytester)
against a component pointed at an address where nothing answers (in a subprocess: the
session imports cryptography and SQLAlchemy afresh, which pytester's inline runs cannot undo)."""

from __future__ import annotations

import pytest

CASES = {
    "postgres": (
        "GOVCRED_TEST_POSTGRES",
        "GOVCRED_TEST_PG_URL",
        "postgresql://postgres@127.0.0.1:9/postgres",
        "def test_it(database_url):\n    assert database_url\n",
        {"passed": 1, "skipped": 1},
        {"passed": 1, "errors": 1},
    ),
    "redis": (
        "GOVCRED_TEST_REDIS",
        "GOVCRED_TEST_REDIS_URL",
        "redis://127.0.0.1:9/0",
        "def test_it(redis_client):\n    assert redis_client\n",
        {"skipped": 1},
        {"errors": 1},
    ),
    "browser": (
        "GOVCRED_TEST_BROWSER",
        "GOVCRED_TEST_CHROMIUM",
        "/nonexistent/chromium",
        "def test_it(chromium_executable):\n    assert chromium_executable\n",
        {"skipped": 1},
        {"errors": 1},
    ),
}


@pytest.mark.parametrize("component", sorted(CASES))
@pytest.mark.parametrize("switch_value", ["", "require"])
def test_a_missing_component_is_skipped_unless_required(pytester, monkeypatch, component, switch_value):
    switch, location_env, nowhere, test_source, when_optional, when_required = CASES[component]
    monkeypatch.setenv(switch, switch_value)
    monkeypatch.setenv(location_env, nowhere)
    pytester.makepyfile(test_source)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "-rE")
    result.assert_outcomes(**(when_required if switch_value else when_optional))
    if switch_value:
        result.stdout.fnmatch_lines([f"*{switch}=require, but *"])


def test_a_present_component_is_used_whatever_the_switch(
    pytester, monkeypatch, postgres, redis_client, chromium_executable
):
    """With the switches set and the real components here, nothing is skipped or failed.
    (This test asks for the components itself, so it obeys the switches where one is absent.)"""
    for switch, *_ in CASES.values():
        monkeypatch.setenv(switch, "require")
    pytester.makepyfile(
        "def test_pg(database_url):\n    assert database_url.split(':')[0] in ('sqlite', 'postgresql')\n"
        "def test_redis(redis_client):\n    assert redis_client.ping()\n"
        "def test_browser(chromium_executable):\n    assert chromium_executable.exists()\n"
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=4)
