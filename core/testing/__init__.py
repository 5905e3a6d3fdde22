"""govcred.testing: the test kit for govcred and for plugin authors.

Its pytest plugin (:mod:`govcred.testing.plugin`) is registered through the ``pytest11``
entry point, so the fixtures are there in any environment where govcred and pytest are
installed. The helpers below are for code outside fixtures (helper modules, benchmarks)::

    from govcred.testing import make_runtime, make_settings, PostgresServer
"""

from govcred.testing.builders import T0, TEST_ENV, builtin_plugins, make_pm, make_runtime, make_settings, signed_in
from govcred.testing.components import chromium_path, connect_redis, redis_url, require_chromium
from govcred.testing.databases import PostgresServer, migrate, migrated_sqlite
from govcred.testing.outbox import OutboxInspector
from govcred.testing.switches import BROWSER, POSTGRES, REDIS, component_missing, required

__all__ = [
    "BROWSER",
    "POSTGRES",
    "REDIS",
    "T0",
    "TEST_ENV",
    "OutboxInspector",
    "PostgresServer",
    "builtin_plugins",
    "chromium_path",
    "component_missing",
    "connect_redis",
    "make_pm",
    "make_runtime",
    "make_settings",
    "migrate",
    "migrated_sqlite",
    "redis_url",
    "require_chromium",
    "required",
    "signed_in",
]
