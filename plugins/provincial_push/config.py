"""``[plugins.provincial_push]``: every push setting, validated together.

``backend`` (``jsonl`` or ``http``), ``url`` and ``secret`` (the HMAC key that signs each
request) may each be overridden by an environment variable of the host --
``GOVCRED_PUSH_BACKEND``, ``GOVCRED_PUSH_URL``, ``GOVCRED_PUSH_SECRET`` -- which this plugin
reads itself (``settings.environ``, what ``host.environ`` hands it).

The plugin is generic: the issuing authority, its code, the licence type and the county
come from its own table first, then from the county plugin's table
(``[plugins.zhejiang_residence]``: ``authority``, ``authority_uscc``, ``permit_type_code``,
``county_code``), then from Qingtian's development defaults. Every problem is reported in
one :class:`ConfigError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from govcred.core import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Settings

PLUGIN_NAME = "provincial_push"
COUNTY_PLUGIN = "zhejiang_residence"
BACKENDS = ("jsonl", "http")

#: Qingtian development values, the same the county plugin uses when unconfigured: the
#: authority's USCC is NOT the bureau's real code (not public) and the 居住证 type code is
#: unconfirmed (reference/domain.md §3-§4). Production configures both.
DEFAULTS: dict[str, Any] = {
    "licence_name": "浙江省居住证",
    "type_code": "11100000000013127D116",
    "authority": "青田县公安局",
    "authority_uscc": "11331121002503437R",
    "county_code": "331121",
}
#: Values of DEFAULTS that are placeholders, with why (what ``govcred config show`` says).
#: Production refuses to push with any of them: a record whose issuing-authority code or
#: licence type is made up would enter the province's register under a wrong identifier.
PLACEHOLDERS: dict[str, str] = {
    "authority_uscc": "开发用占位值：按规则计算的统一社会信用代码，并非青田县公安局的真实代码；上线前须配置真实代码",
    "type_code": "开发用占位值：居住证证照类型代码未经确认；上线前须配置省平台确认的代码",
}
#: our key -> the county plugin's key
COUNTY_KEYS = {
    "type_code": "permit_type_code",
    "authority": "authority",
    "authority_uscc": "authority_uscc",
    "county_code": "county_code",
}
#: environment variable -> the table key it overrides
ENV_OVERRIDES = {"GOVCRED_PUSH_BACKEND": "backend", "GOVCRED_PUSH_URL": "url", "GOVCRED_PUSH_SECRET": "secret"}
_KEYS = (*ENV_OVERRIDES.values(), *DEFAULTS, "connect_timeout", "read_timeout", "manifest_url")
# Format checks only: the GB/T 36904 check character protects the identifier as a whole,
# and public identifiers exist whose codes are not valid USCCs (reference/domain.md §4).
_USCC = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}")
_TYPE_CODE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}\d{3}")
_DIVISION = re.compile(r"\d{6}")


@dataclass(frozen=True)
class PushConfig:
    backend: str
    url: str
    secret: str
    licence_name: str
    type_code: str
    authority: str
    authority_uscc: str
    county_code: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    #: where the daily reconciliation manifest is POSTed (default: ``url`` + ``/manifests``)
    manifest_url: str = ""

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


def _own_table(settings: Settings) -> dict[str, Any]:
    own: dict[str, Any] = dict(settings.plugin(PLUGIN_NAME))
    own.update({key: settings.environ[var] for var, key in ENV_OVERRIDES.items() if settings.environ.get(var)})
    return own


def _codes(settings: Settings, own: Mapping[str, Any]) -> dict[str, Any]:
    """The authority and licence values in effect: our table, the county's, the defaults."""
    county: Mapping[str, Any] = settings.plugin(COUNTY_PLUGIN)
    return {key: own.get(key, county.get(COUNTY_KEYS.get(key, ""), default)) for key, default in DEFAULTS.items()}


def placeholders_in_effect(settings: Settings) -> dict[str, str]:
    """``{"plugins.provincial_push.<key>": why}`` for each effective value still a placeholder."""
    values = _codes(settings, _own_table(settings))
    return {
        f"plugins.{PLUGIN_NAME}.{key}": f"{why}（当前值 {values[key]}）"
        for key, why in PLACEHOLDERS.items()
        if values[key] == DEFAULTS[key]
    }


def push_config(settings: Settings) -> PushConfig:
    """Build and validate the effective push configuration."""
    own = _own_table(settings)
    problems = [f"unknown setting {k!r}" for k in sorted(set(own) - set(_KEYS))]
    values = _codes(settings, own)
    if settings.production:
        problems += [
            f"production mode refuses the placeholder {key} {values[key]!r}: configure the real value"
            for key in PLACEHOLDERS
            if values[key] == DEFAULTS[key]
        ]
    for key in ("licence_name", "authority"):
        if not isinstance(values[key], str) or not values[key].strip():
            problems.append(f"{key} must be a non-empty string, got {values[key]!r}")
    checks = (
        ("type_code", _TYPE_CODE, "an agency's USCC followed by 3 digits"),
        ("authority_uscc", _USCC, "an 18-character unified social credit code"),
        ("county_code", _DIVISION, "a 6-digit division code"),
    )
    for key, pattern, what in checks:
        if not isinstance(values[key], str) or not pattern.fullmatch(values[key]):
            problems.append(f"{key} must be {what}, got {values[key]!r}")
    timeouts = {}
    for key in ("connect_timeout", "read_timeout"):
        value = own.get(key, getattr(PushConfig, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 60:
            problems.append(f"{key} must be a number of seconds above 0 and at most 60, got {value!r}")
        timeouts[key] = value
    backend, url, secret = str(own.get("backend", "jsonl")), str(own.get("url", "")), str(own.get("secret", ""))
    if backend not in BACKENDS:
        problems.append(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if url and not url.startswith(("http://", "https://")):
        problems.append(f"url must be an http(s) URL, got {url!r}")
    manifest_url = str(own.get("manifest_url", ""))
    if manifest_url and not manifest_url.startswith(("http://", "https://")):
        problems.append(f"manifest_url must be an http(s) URL, got {manifest_url!r}")
    if backend == "http":
        if not url:
            problems.append("backend http needs url (GOVCRED_PUSH_URL)")
        if not secret:
            problems.append("backend http needs secret (GOVCRED_PUSH_SECRET) to sign requests")
        elif len(secret) < 16:
            problems.append("secret must be at least 16 characters")
        if settings.production and url and not url.startswith("https://"):
            problems.append("production mode needs an https:// url")
    if problems:
        raise ConfigError(f"[plugins.{PLUGIN_NAME}]: " + "; ".join(problems), problems=problems)
    return PushConfig(
        backend=backend,
        url=url,
        secret=secret,
        connect_timeout=float(timeouts["connect_timeout"]),
        read_timeout=float(timeouts["read_timeout"]),
        manifest_url=manifest_url,
        **values,
    )
