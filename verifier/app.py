"""The verifier service's Flask app factory.

It holds no private key and never opens the issuer's database: trusted issuers' public keys
and status lists come from a trust file and are refreshed by :class:`~verifier.cache.TrustCache`
in the background; its own small database keeps institutions, the verification log and the
last good copies of what it fetched.
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pluggy
from flask import Flask

from govcred.core.exceptions import ConfigError
from govcred.verifier.cache import TrustCache, fetch_source
from govcred.verifier.check import Verifier
from govcred.verifier.db import CopyStore, create_tables, make_verifier_engine
from govcred.verifier.ratelimits import Policy, VerifierLimits, storage_for
from govcred.verifier.replay import replay_cache_for
from govcred.verifier.trust import TrustConfig, load_trust
from govcred.verifier.trustlist import TrustListRefused, TrustListSource, load_root

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
METRICS_TOKEN_ENV = "GOVCRED_VERIFIER_METRICS_TOKEN"


@dataclass
class VerifierConfig:
    trust_file: str | None = None
    trust: TrustConfig | None = None
    #: the province's signed trust list (URL or file) and the root key file it must be signed by;
    #: with them, the issuers come from the list and a local trust file gives only benefit_plugins
    trust_list: str | None = None
    trust_root: str | None = None
    benefit_plugins: tuple[str, ...] = ()
    #: Redis shared by every verifier process (presentation replay cache, limits); the
    #: verifier database serves instead when unset
    redis_url: str | None = None
    limits: Policy = field(default_factory=Policy)
    data_dir: Path = Path("./var/verifier")
    database_url: str = ""
    refresh_seconds: float = 300.0
    leeway: int = 60
    #: this verifier's own id, the only ``aud`` a presentation may name here (none by default)
    audience: str | None = None
    #: the bearer token the operator's scraper sends for ``/metrics`` (off while unset)
    metrics_token: str | None = field(default=None, repr=False)
    clock: Any = None
    fetch: Callable[[str], bytes] = fetch_source
    #: False in tests that drive refreshes themselves
    background_refresh: bool = True
    extra_plugins: tuple = field(default=())

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(Path(self.data_dir) / 'verifier.sqlite3').resolve()}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> VerifierConfig:
        """For gunicorn: GOVCRED_VERIFIER_TRUST (a trust file) and/or _TRUST_LIST with _TRUST_ROOT,
        _BENEFIT_PLUGINS (comma-separated), _DATA_DIR, _DATABASE_URL, _REDIS_URL, _REFRESH_SECONDS, _AUDIENCE,
        _METRICS_TOKEN, and the per-minute limits as _LIMIT_VERIFY_PER_ADDRESS etc. (one for each :class:`Policy` field)."""
        trust, trust_list = env.get("GOVCRED_VERIFIER_TRUST"), env.get("GOVCRED_VERIFIER_TRUST_LIST")
        problems = []
        if not trust and not trust_list:
            problems.append("须设置 GOVCRED_VERIFIER_TRUST（信任文件）或 GOVCRED_VERIFIER_TRUST_LIST（签名的信任列表）")
        refresh = _refresh_seconds_from_env(env, problems)
        try:
            settings = environment_settings(env)
        except ConfigError as exc:
            problems += exc.details["problems"]
        if problems:  # every one named at once, one line each
            raise ConfigError("；".join(problems), problems=problems)
        plugins = env.get("GOVCRED_VERIFIER_BENEFIT_PLUGINS", "")
        return cls(
            trust_file=trust or None,
            trust_list=trust_list or None,
            trust_root=env.get("GOVCRED_VERIFIER_TRUST_ROOT") or None,
            benefit_plugins=tuple(p.strip() for p in plugins.split(",") if p.strip()),
            data_dir=Path(env.get("GOVCRED_VERIFIER_DATA_DIR", "./var/verifier")),
            database_url=env.get("GOVCRED_VERIFIER_DATABASE_URL", ""),
            refresh_seconds=refresh,
            redis_url=env.get("GOVCRED_VERIFIER_REDIS_URL") or None,
            **settings,
        )


def environment_settings(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings read from the environment alone, whichever way the verifier starts (the WSGI
    entry, ``govcred verifier serve``): the per-minute limits (GOVCRED_VERIFIER_LIMIT_*), the
    audience (GOVCRED_VERIFIER_AUDIENCE) and the metrics token; ConfigError naming every bad one."""
    return {
        "limits": _policy_from_env(env),
        "audience": env.get("GOVCRED_VERIFIER_AUDIENCE") or None,
        "metrics_token": env.get(METRICS_TOKEN_ENV) or None,
    }


def _refresh_seconds_from_env(env: Mapping[str, str], problems: list[str]) -> float:
    """GOVCRED_VERIFIER_REFRESH_SECONDS, in the range ``verifier serve --refresh-seconds`` takes."""
    value = env.get("GOVCRED_VERIFIER_REFRESH_SECONDS", "300").strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 5 <= seconds <= 86_400:  # NaN included
        problems.append(f"GOVCRED_VERIFIER_REFRESH_SECONDS 应为 5 到 86400 之间的秒数，现为 {value!r}")
        return 300.0
    return seconds


def _policy_from_env(env: Mapping[str, str]) -> Policy:
    """The limits a deployment sets (e.g. a kiosk network behind one address needs more than
    the default per address); every bad figure named at once."""
    given, bad = {}, []
    for name in (f.name for f in fields(Policy)):
        variable = f"GOVCRED_VERIFIER_LIMIT_{name.upper()}"
        if variable in env:
            value = env[variable].strip()
            if value.isdigit() and 1 <= int(value) <= 10_000_000:
                given[name] = int(value)
            else:
                bad.append(variable)
    if bad:
        message = f"{'、'.join(bad)}：限额应为每分钟请求数，1 到 10,000,000 之间的整数"
        raise ConfigError(message, problems=[message])
    return Policy(**given)


def benefit_plugins(names: tuple[str, ...], extra: tuple = ()) -> pluggy.PluginManager:
    """A plugin manager holding only the named ``govcred`` entry points: the verifier loads
    what answers benefit questions, not issuer plugins (which may touch the issuer's tables)."""
    from govcred.core import hookspecs
    from govcred.core.plugins import configure_plugins, standalone_host

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT)}
    missing = [n for n in names if n not in found]
    if missing:
        raise ConfigError(f"未安装福利插件 (benefit_plugins)：{'、'.join(missing)}")
    for name in names:
        pm.register(found[name].load(), name=name)
    for plugin, name in extra:
        pm.register(plugin, name=name)
    pm.check_pending()
    # configured with the built-in defaults and no database: a plugin registers its
    # credential types, whose benefit checks read only the verified claims
    configure_plugins(pm, standalone_host(pm))
    return pm


def trust_sources(config: VerifierConfig) -> tuple[TrustConfig, TrustListSource | None]:
    """The local trust and the signed list's source; ConfigError naming what is wrong (checked
    by ``verifier serve`` before gunicorn forks, and by every worker's app)."""
    trust = config.trust or (load_trust(config.trust_file) if config.trust_file else None)
    signed_list = None
    if config.trust_list:
        if not config.trust_root:
            raise ConfigError("签名的信任列表须同时指定固定的省级根密钥 (--trust-root / trust_root)")
        try:
            signed_list = TrustListSource(config.trust_list, load_root(config.trust_root))
        except TrustListRefused as exc:  # the pinned root itself is revoked: nothing can be adopted
            raise ConfigError(f"{exc.reason}: {exc.message}") from None
        trust = TrustConfig((), config.benefit_plugins or (trust.benefit_plugins if trust else ()))
    if trust is None:
        raise ConfigError("核验服务须有列出至少一个签发机关的信任文件，或签名的信任列表")
    if not 0 <= config.leeway <= 60:
        raise ConfigError("leeway 应在 0 到 60 秒之间")
    benefit_plugins(trust.benefit_plugins, config.extra_plugins)
    return trust, signed_list


def create_app(config: VerifierConfig | Mapping[str, Any] | None = None) -> Flask:
    if config is None:
        config = VerifierConfig.from_env()
    elif not isinstance(config, VerifierConfig):
        known = {f.name for f in fields(VerifierConfig)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(f"未知的核验服务设置：{'、'.join(unknown)}")
        config = VerifierConfig(**config)
    trust, signed_list = trust_sources(config)
    if config.database.startswith("sqlite"):
        Path(config.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = make_verifier_engine(config.database)
    create_tables(engine)

    cache = TrustCache(
        trust,
        clock=config.clock,
        fetch=config.fetch,
        store=CopyStore(engine),
        leeway=config.leeway,
        trust_list=signed_list,
    )
    cache.restore()  # what it cannot accept any more is skipped with a warning: it always starts
    if config.background_refresh:
        cache.start(config.refresh_seconds)  # the first round at once; /healthz says when it is done
    else:
        cache.refresh()

    # An explicit instance path: Flask's own search walks the parent package's paths, and
    # the govcred namespace has none it can use under an editable install.
    app = Flask(__name__, instance_path=str(Path(config.data_dir).resolve()))
    app.config.update(MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES, JSON_AS_ASCII=False)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["verifier"] = VerifierState(
        engine=engine,
        cache=cache,
        config=config,
        limits=VerifierLimits(storage_for(engine, config.redis_url), policy=config.limits),
        verifier=Verifier(
            cache,
            pm=benefit_plugins(trust.benefit_plugins, config.extra_plugins),
            leeway=config.leeway,
            audience=config.audience,
            replay=replay_cache_for(engine, config.redis_url),
        ),
    )
    from govcred.verifier import pages, views

    views.init_app(app)
    pages.init_app(app)
    return app


@dataclass
class VerifierState:
    engine: Any
    cache: TrustCache
    verifier: Verifier
    config: VerifierConfig
    limits: VerifierLimits
