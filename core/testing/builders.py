"""Settings, plugin managers and runtimes for tests, with the plugins named explicitly.

Tests never depend on what else happens to be installed: a plugin manager built here
registers the given plugins and loads no entry point (as devpi's ``makexom`` does). By
default those are govcred's built-in plugins, read from the ``govcred`` entry points of
the govcred distribution itself; a plugin author adds their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.metadata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from govcred.core.clock import FixedClock
from govcred.core.config import load_settings
from govcred.core.hookspecs import PROJECT
from govcred.core.plugins import get_plugin_manager

#: The instant every FixedClock of the test kit starts at (a Monday, 10:00 in Beijing).
T0 = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)

#: The secrets a runtime refuses to start without, fixed so that tests are repeatable.
TEST_ENV = {
    "GOVCRED_KEY_PASSPHRASE": "test passphrase that is long enough",
    "GOVCRED_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789abcdef",
    "GOVCRED_ISSUER": "https://qt.example.gov.cn",
}

Plugins = Sequence[tuple[Any, str]]


def signed_in(principal, clock):
    """``principal`` as if the officer had just given every sign-in factor of their account:
    what deciding, changing a status, cancelling and rotating keys ask for (a factor from the
    last 10 minutes, :mod:`govcred.core.accounts.factors`)."""
    return dataclasses.replace(principal, factor_at=clock.now())


def builtin_plugins() -> list[tuple[Any, str]]:
    """``(plugin, name)`` for each plugin the govcred distribution itself declares, in its order."""
    dist = importlib.metadata.distribution("govcred")
    return [(ep.load(), ep.name) for ep in dist.entry_points if ep.group == PROJECT]


def make_pm(settings=None, extra: Iterable[tuple[Any, str]] = (), *, plugins: Plugins | None = None):
    """A plugin manager with ``plugins`` (default: the built-ins) and ``extra`` registered
    explicitly and no entry point loaded; configured with ``settings`` when given."""
    base = builtin_plugins() if plugins is None else list(plugins)
    return get_plugin_manager(load_entrypoints=False, disabled=(), extra=[*base, *extra], settings=settings)


def make_settings(data_dir: Path, database_url: str | None = None, **overrides):
    """Settings in ``data_dir`` with the test secrets (and ``database_url`` if given); the audit
    file witness beside it (``<data_dir>/../audit-witness``), never in the user's home."""
    env = dict(TEST_ENV)
    if database_url:
        env["GOVCRED_DATABASE_URL"] = database_url
    overrides.setdefault("audit_witness_dir", str(Path(data_dir).parent / "audit-witness"))
    return load_settings(data_dir, env=env, **overrides)


def make_runtime(
    settings, clock=None, extra_plugins: Iterable[tuple[Any, str]] = (), *, plugins: Plugins | None = None
):
    """A runtime on ``settings`` with the plugins of :func:`make_pm`, on a FixedClock at
    :data:`T0` unless ``clock`` is given. The caller closes it."""
    from govcred.core.runtime import Runtime

    pm = make_pm(extra=extra_plugins, plugins=plugins)  # the runtime configures it with its own host
    return Runtime.create(settings, pm=pm, clock=clock or FixedClock(T0))
