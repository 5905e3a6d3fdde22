"""Effective settings: built-in defaults < config file < ``GOVCRED_*`` environment variables.

The config file is TOML, found at ``GOVCRED_CONFIG`` or ``<data dir>/govcred.toml``. Plugin
settings live in ``[plugins.<name>]`` tables and reach plugins through
:meth:`Settings.plugin`; a plugin that honours environment variables of its own reads them
from :attr:`Settings.environ` (the ``GOVCRED_*`` variables no core setting reads). Nothing
here touches the network or the database.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from govcred.core.accounts.identity_settings import identity_problems
from govcred.core.exceptions import ConfigError
from govcred.core.file_problems import UNREADABLE, unreadable
from govcred.core.redaction import mask, redact_mapping, redact_url, redact_value

MODES = ("development", "production")
ALGORITHMS = ("ES256", "EdDSA")

#: Settings whose values are never printed.
SECRET_FIELDS = frozenset({"key_passphrase", "secret_key", "metrics_token"})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./var")
    mode: str = "development"
    database_url: str = ""
    #: Public base URL of the issuer; also the ``iss`` of every token it signs.
    issuer: str = "http://127.0.0.1:8000"
    key_algorithm: str = "ES256"
    key_passphrase: str = ""
    #: Master secret for field encryption, blind indexes and sessions (hex or text).
    secret_key: str = ""
    leeway_seconds: int = 60
    credential_max_days: int = 400
    presentation_seconds: int = 60
    status_list_ttl_seconds: int = 3600
    status_list_size: int = 131072
    worker_in_serve: bool = True
    #: how long a request holds its Idempotency-Key before a retry may take it over
    idempotency_lease_seconds: int = 10
    worker_batch: int = 50
    worker_max_attempts: int = 12
    #: how often each server process checks whether a job (sweep, purge) is due and whether
    #: the outbox relay has a leader (core/jobs.py)
    job_poll_seconds: int = 30
    #: the bearer token a Prometheus scraper sends to /metrics (empty: administrators only)
    metrics_token: str = ""
    disable_plugins: tuple[str, ...] = ()
    #: verifier services a holder's page asks who verified their permit
    verifier_urls: tuple[str, ...] = ()
    #: A signed audit checkpoint at least every this many entries ...
    audit_checkpoint_entries: int = 1000
    #: ... or this many seconds after the oldest entry no checkpoint covers yet.
    audit_checkpoint_seconds: int = 60
    #: The built-in file witness's directory (one file per log); it must lie outside the data
    #: directory, so that a copy or a restore of the data does not carry it. Empty: one
    #: directory per data directory in the user's state directory (:attr:`witness_dir`).
    audit_witness_dir: str = ""
    #: HTTP witnesses: each is sent every checkpoint (POST) and asked for the latest (GET).
    audit_witness_urls: tuple[str, ...] = ()
    #: an officer's API bearer token ends after this long unused, and this long after sign-in
    officer_token_idle_minutes: int = 15
    officer_token_hours: int = 8
    #: residents' sign-in codes sent (rates as the ``limits`` library reads them: "5/hour", "3 per minute")
    login_codes_per_number: str = "5/hour"
    login_codes_per_address: str = "10/hour"
    login_codes_total: str = "60/minute"
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: ``[retention]``: rule name -> period ("30d", "48h"); rules and defaults in core/retention.py
    retention: Mapping[str, str] = field(default_factory=dict)
    #: The ``[identity]`` table: the residents' sign-in (``core/accounts/identity_settings.py``).
    identity: Mapping[str, Any] = field(default_factory=dict)
    #: The host's ``GOVCRED_*`` environment variables that no core setting reads, as
    #: :func:`load_settings` found them: plugins read their own overrides here.
    environ: Mapping[str, str] = field(default_factory=dict)

    # -- derived ----------------------------------------------------------------------
    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'govcred.sqlite3').resolve()}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def witness_dir(self) -> Path:
        """The configured directory, else ``<state>/govcred/audit-witness/<data dir>-<hash>``
        ($XDG_STATE_HOME or ~/.local/state): named after the data directory's absolute path, so
        that two deployments on one machine, one a copy of the other (same log, same file
        name), do not append to one witness file."""
        if self.audit_witness_dir:
            return Path(self.audit_witness_dir)
        data_dir = self.data_dir.resolve()
        tag = hashlib.sha256(os.fsencode(data_dir)).hexdigest()[:12]
        return self.shared_witness_dir / f"{data_dir.name or 'root'}-{tag}"

    @property
    def shared_witness_dir(self) -> Path:
        """The default of releases before the directory per data directory, shared by all of
        them: its checkpoints are still read (see :func:`govcred.core.witnesses.builtin_witnesses`)."""
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        return state / "govcred" / "audit-witness"

    @property
    def production(self) -> bool:
        return self.mode == "production"

    def plugin(self, name: str) -> Mapping[str, Any]:
        """Return the ``[plugins.<name>]`` table (empty when absent)."""
        return self.plugins.get(name, {})

    def with_overrides(self, **values: Any) -> Settings:
        return _validated(replace(self, **values))

    def redacted(self) -> dict[str, Any]:
        """Every setting as plain data, secrets replaced by a marker (``govcred config show``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = mask(value)
            elif f.name in ("plugins", "identity"):
                value = {k: redact_mapping(v) if isinstance(v, Mapping) else v for k, v in value.items()}
            elif isinstance(value, Path):
                value = str(value)
            else:
                # URLs anywhere (database, issuer, verifier services, plugin endpoints) may
                # carry a password or a token
                value = redact_value(value)
            out[f.name] = value
        out["database"] = redact_url(self.database)
        return out


_ENV_FIELDS: dict[str, str] = {
    "GOVCRED_MODE": "mode",
    "GOVCRED_DATABASE_URL": "database_url",
    "GOVCRED_ISSUER": "issuer",
    "GOVCRED_KEY_ALGORITHM": "key_algorithm",
    "GOVCRED_KEY_PASSPHRASE": "key_passphrase",
    "GOVCRED_SECRET_KEY": "secret_key",
    "GOVCRED_LEEWAY_SECONDS": "leeway_seconds",
    "GOVCRED_WORKER_IN_SERVE": "worker_in_serve",
    "GOVCRED_JOB_POLL_SECONDS": "job_poll_seconds",
    "GOVCRED_METRICS_TOKEN": "metrics_token",
    "GOVCRED_IDEMPOTENCY_LEASE_SECONDS": "idempotency_lease_seconds",
    "GOVCRED_DISABLE_PLUGINS": "disable_plugins",
    "GOVCRED_VERIFIER_URLS": "verifier_urls",
    "GOVCRED_AUDIT_WITNESS_DIR": "audit_witness_dir",
    "GOVCRED_AUDIT_WITNESS_URLS": "audit_witness_urls",
}
#: Variables that choose the settings themselves rather than hold one.
_LOCATION_VARS = ("GOVCRED_CONFIG", "GOVCRED_DATA_DIR")


def load_settings(
    data_dir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the effective settings; every problem found is reported in one :class:`ConfigError`."""
    env = os.environ if env is None else env
    root = Path(data_dir or env.get("GOVCRED_DATA_DIR") or "./var")
    values: dict[str, Any] = {"data_dir": root}
    problems: list[str] = []

    config_path = Path(env["GOVCRED_CONFIG"]) if env.get("GOVCRED_CONFIG") else root / "govcred.toml"
    if env.get("GOVCRED_CONFIG") and not config_path.is_file():
        # a file the operator named on purpose: running on the defaults instead would hide it
        raise ConfigError(f"GOVCRED_CONFIG 指定的配置文件 {config_path} 不存在或不是文件")
    if config_path.exists():
        try:
            file_values = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except UNREADABLE as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
            raise ConfigError(f"无法读取配置文件 {config_path}：{unreadable(exc)}") from None
        known = {f.name for f in fields(Settings)} - {"environ"}
        unknown = sorted(set(file_values) - known - {"data_dir"})
        if unknown:  # named with every other problem, the rest of the file still checked
            problems.append(f"配置文件 {config_path} 中有未知的设置：{'、'.join(unknown)}")
        file_values.pop("data_dir", None)
        values.update({k: v for k, v in file_values.items() if k in known})

    for var, name in _ENV_FIELDS.items():
        if var in env and env[var] != "":
            values[name] = env[var]
    values["environ"] = {
        var: value
        for var, value in env.items()
        if var.startswith("GOVCRED_") and value != "" and var not in _ENV_FIELDS and var not in _LOCATION_VARS
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _validated(Settings(**_coerce(values, problems)), problems)


_LIST_FIELDS = ("disable_plugins", "verifier_urls", "audit_witness_urls")


def _coerce(values: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """Each value as its setting's type (text from the environment read as a number, a flag, a
    list); a value of the wrong type (``leeway_seconds = [1]``, ``issuer = 5`` in the file) is
    added to ``problems`` and left at its default, so that every other setting is still checked."""
    out = dict(values)
    for f in fields(Settings):
        if f.name not in out:
            continue
        v = out[f.name]
        problem = None
        if f.type == "int":
            if isinstance(v, str):
                try:
                    out[f.name] = int(v)
                except ValueError:
                    problem = f"{f.name} 应为整数，现为 {v!r}"
            elif isinstance(v, bool) or not isinstance(v, int):
                problem = f"{f.name} 应为整数，现为 {v!r}"
        elif f.type == "bool":
            if isinstance(v, str):
                out[f.name] = v.strip().lower() in ("1", "true", "yes", "on")
            elif not isinstance(v, bool):
                problem = f"{f.name} 应为 true 或 false，现为 {v!r}"
        elif f.name in _LIST_FIELDS:
            if isinstance(v, str):
                out[f.name] = tuple(p.strip() for p in v.split(",") if p.strip())
            elif isinstance(v, list | tuple) and all(isinstance(p, str) for p in v):
                out[f.name] = tuple(v)
            else:
                problem = f"{f.name} 应为文字列表（或以逗号分隔的文字），现为 {v!r}"
        elif f.name == "data_dir":
            out[f.name] = Path(v)
        elif f.type == "str" and not isinstance(v, str):
            problem = f"{f.name} 应为文字，现为 {v!r}"
        elif f.name == "plugins" and not isinstance(v, Mapping):  # [retention], [identity]: checked below
            problem = f"{f.name} 应为表（[{f.name}]），现为 {v!r}"
        if problem:
            problems.append(problem)
            del out[f.name]
    return out


def _is_rate(value: Any) -> bool:
    from limits import parse

    try:
        return isinstance(value, str) and parse(value).amount > 0
    except ValueError:
        return False


def _database_url_problem(url: str) -> str | None:
    """Why ``url`` is not a database URL SQLAlchemy can use (unknown scheme, malformed), or None."""
    import sqlalchemy.engine
    import sqlalchemy.exc

    try:
        sqlalchemy.engine.make_url(url).get_dialect()
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ValueError) as exc:
        return f"database_url 不是可用的数据库地址 ({redact_url(url)})：{exc}"
    return None


def _validated(s: Settings, problems: list[str] | None = None) -> Settings:
    """``s`` when every setting is acceptable; else one ConfigError naming every problem, those
    found while reading (``problems``: unknown names, wrong types) first."""
    problems = list(problems or [])
    if s.database_url and (problem := _database_url_problem(s.database_url)):
        problems.append(problem)
    if s.mode not in MODES:
        problems.append(f"mode 应为 {'、'.join(MODES)} 之一，现为 {s.mode!r}")
    if s.key_algorithm not in ALGORITHMS:
        problems.append(f"key_algorithm 应为 {'、'.join(ALGORITHMS)} 之一，现为 {s.key_algorithm!r}")
    if not 0 <= s.leeway_seconds <= 60:
        problems.append(f"leeway_seconds 应在 0 到 60 之间，现为 {s.leeway_seconds}")
    if not isinstance(s.retention, Mapping):
        problems.append('[retention] 应为“规则 = 期限”的表，例如 web_sessions = "30d"')
    if not 1 <= s.idempotency_lease_seconds <= 300:
        problems.append(f"idempotency_lease_seconds 应在 1 到 300 之间，现为 {s.idempotency_lease_seconds}")
    if not 30 <= s.presentation_seconds <= 60:
        problems.append(f"presentation_seconds 应在 30 到 60 之间，现为 {s.presentation_seconds}")
    if s.job_poll_seconds < 1:
        problems.append(f"job_poll_seconds 至少为 1，现为 {s.job_poll_seconds}")
    if s.audit_checkpoint_entries < 1:
        problems.append(f"audit_checkpoint_entries 至少为 1，现为 {s.audit_checkpoint_entries}")
    if s.audit_checkpoint_seconds < 1:
        problems.append(f"audit_checkpoint_seconds 至少为 1，现为 {s.audit_checkpoint_seconds}")
    if s.audit_witness_dir and Path(s.audit_witness_dir).resolve().is_relative_to(Path(s.data_dir).resolve()):
        problems.append(
            f"audit_witness_dir 应在数据目录之外（否则复制或恢复数据时会一并带走见证文件），现为 {s.audit_witness_dir}"
        )
    bad_witnesses = [u for u in s.audit_witness_urls if not u.startswith(("http://", "https://"))]
    if bad_witnesses:
        problems.append(f"audit_witness_urls 应为 http(s) 网址，现为 {'、'.join(map(repr, bad_witnesses))}")
    if not s.issuer.startswith(("http://", "https://")):
        problems.append(f"issuer 应为 http(s) 网址，现为 {s.issuer!r}")
    if not 1 <= s.officer_token_idle_minutes <= 60:
        problems.append(f"officer_token_idle_minutes 应在 1 到 60 之间，现为 {s.officer_token_idle_minutes}")
    if not 1 <= s.officer_token_hours <= 12:
        problems.append(f"officer_token_hours 应在 1 到 12 之间，现为 {s.officer_token_hours}")
    for name in ("login_codes_per_number", "login_codes_per_address", "login_codes_total"):
        if not _is_rate(getattr(s, name)):
            problems.append(f"{name} 应为频率，例如 '5/hour' 或 '60 per minute'，现为 {getattr(s, name)!r}")
    if s.production:
        if not s.key_passphrase:
            problems.append("production mode needs GOVCRED_KEY_PASSPHRASE")
        if not s.secret_key:
            problems.append("production mode needs GOVCRED_SECRET_KEY")
        if not s.issuer.startswith("https://"):
            problems.append("production mode needs an https:// issuer")
    problems.extend(identity_problems(s.identity, s.production, s.environ))
    if problems:
        raise ConfigError("；".join(problems), problems=problems)
    return s
