"""Build the plugin manager: entry points (built-ins included), block list, check_pending().

Built-in plugins are registered exactly like third-party ones, through the ``govcred``
entry-point group in their distribution's metadata; core never imports ``plugins.*``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from govcred.core import hookspecs
from govcred.core.clock import Clock
from govcred.core.credential_types import collect_credential_types  # re-exported: the verifier asks it
from govcred.core.exceptions import ConfigError
from govcred.core.plugin_host import PluginHost

log = logging.getLogger("govcred.plugins")

#: Environment variable holding a comma-separated block list of plugin (entry-point) names.
DISABLE_ENV = "GOVCRED_DISABLE_PLUGINS"


def get_plugin_manager(
    *,
    load_entrypoints: bool = True,
    disabled: Iterable[str] | None = None,
    extra: Iterable[tuple[Any, str]] = (),
    settings: Any = None,
    host: Any = None,
) -> pluggy.PluginManager:
    """Create a plugin manager with every ``govcred`` entry point that is not blocked.

    :param load_entrypoints: load the ``govcred`` entry-point group (tests may register
        plugins explicitly instead).
    :param disabled: plugin names to block; defaults to ``GOVCRED_DISABLE_PLUGINS``.
    :param extra: ``(plugin, name)`` pairs registered before the entry points (so they win
        a name clash, as in pluggy).
    :param settings: when given, ``govcred_configure`` is called with it (and a host
        context without a database, unless ``host`` is given).
    :param host: a :class:`govcred.core.plugin_host.PluginHost` for ``govcred_configure``;
        the runtime passes its own (see :func:`configure_plugins`).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if disabled is None:
        disabled = [p.strip() for p in os.environ.get(DISABLE_ENV, "").split(",") if p.strip()]
        _warn_unknown_disabled(disabled, {name for _plugin, name in extra})
    for name in disabled:
        pm.set_blocked(name)
    # core's own defaults (trylast implementations) are a plugin too
    from govcred.core import defaults

    pm.register(defaults, name="govcred.core.defaults")
    for plugin, name in extra:
        pm.register(plugin, name=name)
    if load_entrypoints:
        try:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT)
        except pluggy.PluginValidationError as exc:  # a hook implementation its spec refuses
            name = pm.get_name(exc.plugin) or getattr(exc.plugin, "__name__", repr(exc.plugin))
            raise ConfigError(
                f"插件 {name} 无法加载 (plugin cannot be registered): {exc}；可用 {DISABLE_ENV}={name} 暂时停用"
            ) from None
    check_hook_names(pm)
    if settings is not None or host is not None:
        configure_plugins(pm, host or standalone_host(pm, settings))
    return pm


def _warn_unknown_disabled(disabled: Iterable[str], registered: set[str]) -> None:
    """A name in the block list that no installed plugin has: a typo leaves the plugin it meant
    loaded (sending SMS, pushing records), so it is said, with the name it was probably meant
    to be. A warning, not a refusal: one configuration may serve machines with fewer plugins."""

    known = {ep.name for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT)} | registered
    for name in disabled:
        if name not in known:
            hint = _did_you_mean(name, sorted(known))
            log.warning(
                "%s 中的 %s 不是已安装的插件，未停用任何插件%s；已安装：%s (no such plugin)",
                DISABLE_ENV,
                name,
                hint,
                "、".join(sorted(known)),
            )


def _did_you_mean(name: str, choices: list[str]) -> str:
    """ "（是否应为 X？）" for the choice closest to a mistyped ``name``, or "" when none is close."""
    import difflib

    close = difflib.get_close_matches(name, choices, n=1)
    return f"（是否应为 {close[0]}？）" if close else ""


def check_hook_names(pm: pluggy.PluginManager) -> None:
    """pluggy's ``check_pending()``, with every misspelt hook named at once and the hook it was
    probably meant to be: an installed plugin's typo ended every ``govcred`` command in a
    PluginValidationError traceback."""

    specified = [name for name in pm.hook.__dict__ if name[0] != "_" and getattr(pm.hook, name).has_spec()]
    problems = []
    for name in pm.hook.__dict__:
        hook = getattr(pm.hook, name)
        if name[0] == "_" or hook.has_spec():
            continue
        for impl in hook.get_hookimpls():
            if impl.optionalhook:
                continue
            hint = _did_you_mean(name, specified)
            problems.append(
                f"插件 {impl.plugin_name} 实现了不存在的钩子 {name}{hint}，钩子见 govcred.core.hookspecs；"
                f"可用 {DISABLE_ENV}={impl.plugin_name} 暂时停用 (unknown hook)"
            )
    if problems:
        raise ConfigError("；".join(problems), problems=problems)


def registrar(pm: pluggy.PluginManager):
    """``host.register`` for ``pm``: register a configured plugin object under ``name``,
    replacing the one an earlier ``govcred_configure`` of the same manager registered (a
    manager may be configured again, e.g. by a runtime built on a prepared manager)."""

    def register(plugin: Any, name: str) -> Any:
        if pm.has_plugin(name):
            pm.unregister(name=name)
        return pm.register(plugin, name=name)

    return register


def standalone_host(pm: pluggy.PluginManager, settings: Any = None) -> PluginHost:
    """A host context without a database (a dry run, the verifier's benefit plugins):
    ``settings`` (default: the built-in defaults) and the real clock."""
    if settings is None:
        from govcred.core.config import Settings

        settings = Settings()
    return PluginHost(settings=settings, clock=Clock(), register=registrar(pm))


def configure_plugins(pm: pluggy.PluginManager, host: PluginHost) -> None:
    """Call ``govcred_configure`` (historic) with ``host``."""
    pm.hook.govcred_configure.call_historic(kwargs={"settings": host.settings, "host": host})


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """What ``govcred plugins`` prints: each plugin, its distribution and version, its hooks.

    A configured object a plugin registered from ``govcred_configure`` under
    ``"<plugin>.<anything>"`` is listed as part of that plugin: its hooks are the plugin's.
    """
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    named = {name: plugin for name, plugin in pm.list_name_plugin() if plugin is not None}  # None: blocked
    hooks: dict[str, set[str]] = {}
    for name, plugin in named.items():
        owner = name.split(".", 1)[0] if name.split(".", 1)[0] in named else name
        hooks.setdefault(owner, set()).update(caller.name for caller in pm.get_hookcallers(plugin) or ())
    out = []
    for name, implemented in hooks.items():
        dist = dists.get(id(named[name]))
        if dist is not None:
            dist_name, version = dist.metadata["name"], dist.version
        else:
            dist_name, version = (
                ("govcred", importlib.metadata.version("govcred"))
                if name.startswith("govcred.core")
                else ("(registered)", "-")
            )
        out.append(PluginInfo(name, dist_name, version, tuple(sorted(implemented))))
    return sorted(out, key=lambda p: p.name)


def collect_delivery_channels(pm: pluggy.PluginManager, settings: Any) -> dict[str, Any]:
    """Ask every plugin for its outbox channels; a channel registered twice is a config error."""
    channels: dict[str, Any] = {}

    def register(name: str, handler: Any) -> None:
        if name in channels:
            raise ConfigError(f"delivery channel {name!r} registered twice")
        channels[name] = handler

    pm.hook.govcred_delivery_channels(register=register, settings=settings)
    return channels


def collect_benefits(pm: pluggy.PluginManager) -> dict[str, str]:
    """Every benefit code the registered credential types know, with its Chinese label."""
    return collect_credential_types(pm).benefits()


def collect_audit_witnesses(pm: pluggy.PluginManager, settings: Any) -> list[Any]:
    """Every plugin's audit witnesses (core's built-in ones included), in call order."""
    witnesses: list[Any] = []
    pm.hook.govcred_audit_witnesses(register=witnesses.append, settings=settings)
    return witnesses
