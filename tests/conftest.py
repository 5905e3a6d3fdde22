"""Shared fixtures: settings in a temporary data dir, a runtime on SQLite and on PostgreSQL.

PostgreSQL tests create a throwaway database on 127.0.0.1:5432 (user ``postgres``, trust
auth) from a migrated template, and drop it afterwards. Without a server they are skipped,
unless ``GOVCRED_TEST_POSTGRES=require`` (CI sets it), which turns the absence into an error.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import pytest

from govcred.core.clock import FixedClock
from govcred.core.config import load_settings
from govcred.core.migrate import upgrade
from govcred.core.plugins import get_plugin_manager

PG_ADMIN_URL = os.environ.get("GOVCRED_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_REQUIRED = os.environ.get("GOVCRED_TEST_POSTGRES", "") == "require"
T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)

TEST_ENV = {
    "GOVCRED_KEY_PASSPHRASE": "test passphrase that is long enough",
    "GOVCRED_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789abcdef",
    "GOVCRED_ISSUER": "https://qt.example.gov.cn",
}


def builtin_plugins():
    import govcred.plugins.provincial_push
    import govcred.plugins.sms_gateway
    import govcred.plugins.zhejiang_residence
    from govcred import plugins

    return [(plugins.zhejiang_residence, "zhejiang_residence"), (plugins.sms_gateway, "sms_gateway"),
            (plugins.provincial_push, "provincial_push")]


def make_pm(settings=None, extra=()):
    """A plugin manager with the built-ins registered explicitly (tests never depend on
    what else happens to be installed)."""
    return get_plugin_manager(load_entrypoints=False, disabled=(), extra=[*builtin_plugins(), *extra],
                              settings=settings)


# -- PostgreSQL -------------------------------------------------------------------------

def _pg_available() -> bool:
    import sqlalchemy as sa

    from govcred.core.db import make_engine

    try:
        engine = make_engine(PG_ADMIN_URL, poolclass=__import__("sqlalchemy.pool", fromlist=["NullPool"]).NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _pg_admin(sql: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from govcred.core.db import make_engine

    engine = make_engine(PG_ADMIN_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(sql))
    engine.dispose()


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_template():
    """A migrated template database, created once per test session."""
    if not _pg_available():
        if PG_REQUIRED:
            pytest.fail("GOVCRED_TEST_POSTGRES=require but no PostgreSQL answers at " + PG_ADMIN_URL)
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432")
    from sqlalchemy.pool import NullPool

    from govcred.core.db import make_engine

    name = f"govcred_tpl_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    engine = make_engine(_pg_url(name), poolclass=NullPool)
    upgrade(engine, make_pm())
    engine.dispose()
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file, copied for each test."""
    from sqlalchemy.pool import NullPool

    from govcred.core.db import make_engine

    path = tmp_path_factory.mktemp("tpl") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}", poolclass=NullPool)
    upgrade(engine, make_pm())
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A fresh, migrated database: SQLite file or throwaway PostgreSQL database."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "govcred.sqlite3"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"govcred_t_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template):
    target = tmp_path / "govcred.sqlite3"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def data_dir(tmp_path) -> Path:
    d = tmp_path / "var"
    d.mkdir()
    return d


@pytest.fixture
def clock():
    return FixedClock(T0)


def make_settings(data_dir: Path, database_url: str | None = None, **overrides):
    env = dict(TEST_ENV)
    if database_url:
        env["GOVCRED_DATABASE_URL"] = database_url
    return load_settings(data_dir, env=env, **overrides)


def make_runtime(settings, clock=None, extra_plugins=()):
    from govcred.core.runtime import Runtime

    pm = make_pm(settings, extra=extra_plugins)
    return Runtime.create(settings, pm=pm, clock=clock or FixedClock(T0))


@pytest.fixture
def settings(data_dir, database_url):
    return make_settings(data_dir, database_url)


@pytest.fixture
def runtime(settings, clock):
    """A runtime on a fresh database (SQLite and PostgreSQL) with a signing key."""
    rt = make_runtime(settings, clock)
    rt.keystore.ensure_key()
    yield rt
    rt.close()


@pytest.fixture
def sqlite_runtime(data_dir, sqlite_url, clock):
    """The same on SQLite only (for tests whose subject is not the database)."""
    rt = make_runtime(make_settings(data_dir, sqlite_url), clock)
    rt.keystore.ensure_key()
    yield rt
    rt.close()
