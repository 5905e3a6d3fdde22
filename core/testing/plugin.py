"""The pytest plugin (entry point ``pytest11: govcred``): fixtures for govcred and its plugins.

Installed with govcred, it is active in every pytest run of that environment (disable it
with ``-p no:govcred``). Fixtures:

- ``govcred_plugins`` (session): the ``(plugin, name)`` pairs every plugin manager and
  runtime below registers explicitly -- govcred's built-ins. Override it in your
  ``conftest.py`` to add your plugin.
- ``plugin_manager``: a configured plugin manager with those plugins (no database).
- ``database_url``: a fresh migrated database, once on SQLite and once on PostgreSQL;
  ``sqlite_url`` on SQLite only; ``postgres`` (session) the PostgreSQL server itself.
- ``data_dir``, ``clock`` (a FixedClock at :data:`govcred.testing.T0`), ``settings``.
- ``runtime`` (SQLite and PostgreSQL) and ``sqlite_runtime``, each with a signing key.
- ``app_factory``, ``app`` and ``client``: the issuer's Flask app and its test client.
- ``govcred_cli``: the ``govcred`` command (with your plugin's commands) against ``runtime``.
- ``outbox_inspector``: what ``runtime`` wrote to the outbox, by channel.
- ``redis_client``: a real Redis client, its database flushed for each test.
- ``oidc_provider``: a real OpenID Connect provider on 127.0.0.1 (Authlib's server components)
  on the test's ``clock``, whose ID tokens a test can make wrong
  (:class:`govcred.testing.oidc_provider.OidcTestProvider`).
- ``chromium_executable`` (session): the Chromium that Playwright drives.

PostgreSQL, Redis and Chromium are skipped when absent unless their ``require`` switch
says otherwise (:mod:`govcred.testing.switches`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from govcred.core.clock import FixedClock
from govcred.testing.builders import T0, builtin_plugins, make_pm, make_runtime, make_settings
from govcred.testing.components import connect_redis, require_chromium
from govcred.testing.databases import PostgresServer, migrate, migrated_sqlite
from govcred.testing.outbox import OutboxInspector
from govcred.testing.switches import POSTGRES, component_missing

MARKERS = (
    "postgres: needs the PostgreSQL server (GOVCRED_TEST_POSTGRES=require: fail instead of skip)",
    "browser: drives Chromium through Playwright (GOVCRED_TEST_BROWSER=require: fail instead of skip)",
    "redis: needs the Redis server (GOVCRED_TEST_REDIS=require: fail instead of skip)",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:  # so that --strict-markers accepts them in a plugin's own suite
        config.addinivalue_line("markers", line)
    # The audit file witness defaults to the user's state directory: a test that builds its
    # settings without the kit (the command line, a subprocess) writes into a throwaway one.
    if "GOVCRED_AUDIT_WITNESS_DIR" not in os.environ:
        os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="govcred-test-state-")


# ---- plugins ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def govcred_plugins():
    """The plugins registered explicitly everywhere below: govcred's built-ins.

    A plugin's suite adds itself in its ``conftest.py``::

        @pytest.fixture(scope="session")
        def govcred_plugins(govcred_plugins):
            return [*govcred_plugins, (my_plugin, "my_plugin")]
    """
    return builtin_plugins()


@pytest.fixture
def plugin_manager(govcred_plugins, data_dir):
    """A plugin manager with ``govcred_plugins``, configured with settings that name no database."""
    return make_pm(make_settings(data_dir), plugins=govcred_plugins)


# ---- databases ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """The PostgreSQL server at ``GOVCRED_TEST_PG_URL``; skipped (or failed) when it does not answer."""
    server = PostgresServer()
    if not server.available():
        component_missing(POSTGRES, f"no PostgreSQL server answers at {server.address}")
    return server


@pytest.fixture(scope="session")
def pg_template(postgres, govcred_plugins):
    """The name of a migrated template database, created once per test session."""
    name = postgres.create_database("govcred_tpl")
    try:
        migrate(postgres.url(name), make_pm(plugins=govcred_plugins))
        yield name
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, govcred_plugins) -> Path:
    """A migrated SQLite file, copied for each test."""
    return migrated_sqlite(tmp_path_factory.mktemp("tpl") / "template.sqlite3", make_pm(plugins=govcred_plugins))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, migrated database: a SQLite file, then a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
        return
    server, template = request.getfixturevalue("postgres"), request.getfixturevalue("pg_template")
    with server.throwaway(template=template) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    target = tmp_path / "govcred.sqlite3"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


# ---- runtime ------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "var"
    d.mkdir()
    return d


@pytest.fixture
def clock() -> FixedClock:
    """A clock that moves only when the test says so (``clock.set``, ``clock.advance``)."""
    return FixedClock(T0)


@pytest.fixture
def settings(data_dir, database_url):
    return make_settings(data_dir, database_url)


@pytest.fixture
def runtime(settings, clock, govcred_plugins):
    """A runtime on a fresh database (SQLite and PostgreSQL) with a signing key."""
    rt = make_runtime(settings, clock, plugins=govcred_plugins)
    rt.keystore.ensure_key()
    yield rt
    rt.close()


@pytest.fixture
def sqlite_runtime(data_dir, sqlite_url, clock, govcred_plugins):
    """The same on SQLite only (for tests whose subject is not the database)."""
    rt = make_runtime(make_settings(data_dir, sqlite_url), clock, plugins=govcred_plugins)
    rt.keystore.ensure_key()
    yield rt
    rt.close()


@pytest.fixture
def outbox_inspector(runtime) -> OutboxInspector:
    """What ``runtime`` wrote to the outbox (committed rows), by channel and event type."""
    return OutboxInspector(runtime)


# ---- web ----------------------------------------------------------------------------------


@pytest.fixture
def app_factory():
    """``app_factory(runtime, **config)``: the issuer's Flask app around ``runtime``."""
    from govcred.core.web import create_app

    def build(rt, **test_config):
        return create_app(runtime=rt, test_config=test_config or None)

    return build


@pytest.fixture
def app(app_factory, runtime):
    return app_factory(runtime)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def govcred_cli(runtime):
    """``govcred_cli(*args, input=None)``: run the ``govcred`` command as a user would, through
    click's test runner, against ``runtime`` (its settings, database and plugins, so a
    plugin's own commands are there); returns click's ``Result``."""
    from click.testing import CliRunner

    from govcred.core.cli import AppContext, build_cli

    command = build_cli(runtime.pm)
    data_dir = str(runtime.settings.data_dir)

    def invoke(*args, input: str | None = None):
        context = AppContext(data_dir)
        context.settings, context.runtime = runtime.settings, runtime  # instead of building its own
        return CliRunner().invoke(command, ["--data-dir", data_dir, *map(str, args)], obj=context, input=input)

    return invoke


# ---- other components ---------------------------------------------------------------------


@pytest.fixture
def redis_client():
    """A client of the real Redis server (``GOVCRED_TEST_REDIS_URL``; db 15 on 127.0.0.1:6379),
    its database empty at the start of the test and emptied again afterwards."""
    client = connect_redis()
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def oidc_provider(clock):
    """A real OpenID Connect provider on 127.0.0.1, its times from ``clock``; it sends the
    browser back to the relying party of the test settings' issuer. Point a runtime at it
    with ``make_settings(..., identity=oidc_provider.identity_table())``."""
    from govcred.testing.builders import TEST_ENV
    from govcred.testing.oidc_provider import CALLBACK_PATH, OidcTestProvider

    provider = OidcTestProvider(
        now=lambda: clock.now().timestamp(), redirect_uris=[TEST_ENV["GOVCRED_ISSUER"] + CALLBACK_PATH]
    ).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """The path of the Chromium that Playwright launches (never a downloaded browser)."""
    return require_chromium()
