"""``[plugins.sms_gateway]`` and the core ``sms_*`` settings, validated together.

Every problem is collected and raised in one :class:`ConfigError`, so an operator fixes the
file once. The Aliyun secret may come from the table or from ``GOVCRED_SMS_SECRET``
(``settings.sms_secret``), which keeps it out of the config file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from govcred.core import ConfigError
from govcred.plugins.sms_gateway.templates import TEMPLATES

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Settings

PLUGIN_NAME = "sms_gateway"
BACKENDS = ("dev", "http", "aliyun")
ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
_SIGNATURE = re.compile(r"【[^【】]{2,12}】")


@dataclass(frozen=True)
class SmsConfig:
    backend: str = "dev"
    url: str = ""
    signature: str = "【青田公安】"
    http_secret: str = ""
    access_key_id: str = ""
    access_key_secret: str = ""
    #: template name -> provider template code (SMS_123456789)
    template_codes: Mapping[str, str] = field(default_factory=dict)
    #: per phone number, at most this many login codes in a rolling hour ...
    login_codes_per_hour: int = 5
    #: ... and this many notifications in a rolling day
    notifications_per_day: int = 10
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    development: bool = True

    @property
    def sign_name(self) -> str:
        return self.signature.strip("【】")

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def endpoint(self) -> str:
        return self.url or ALIYUN_ENDPOINT


_TABLE_KEYS = ("access_key_id", "access_key_secret", "template_codes", "login_codes_per_hour",
               "notifications_per_day", "connect_timeout", "read_timeout")


def sms_config(settings: "Settings") -> SmsConfig:
    """Build and validate the effective SMS configuration; one ConfigError lists every problem."""
    table: Mapping[str, Any] = settings.plugin(PLUGIN_NAME)
    problems = [f"unknown setting {k!r}" for k in sorted(set(table) - set(_TABLE_KEYS))]
    backend = settings.sms_backend
    if backend not in BACKENDS:
        problems.append(f"sms_backend must be one of {', '.join(BACKENDS)}, got {backend!r}"
                        + (" (a Tencent client is not part of this plugin; use aliyun or http)"
                           if backend == "tencent" else ""))
    if not _SIGNATURE.fullmatch(settings.sms_signature or ""):
        problems.append(f"sms_signature must be 2-12 characters inside 【】, got {settings.sms_signature!r}")
    for key in ("login_codes_per_hour", "notifications_per_day"):
        value = table.get(key, getattr(SmsConfig, key))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            problems.append(f"{key} must be a whole number from 1 to 1000, got {value!r}")
    for key in ("connect_timeout", "read_timeout"):
        value = table.get(key, getattr(SmsConfig, key))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 60:
            problems.append(f"{key} must be a number of seconds above 0 and at most 60, got {value!r}")
    codes = table.get("template_codes", {})
    if not isinstance(codes, Mapping) or not all(isinstance(v, str) and v for v in codes.values()):
        problems.append("template_codes must map template names to provider template codes")
        codes = {}
    problems += [f"template_codes names unknown template {k!r}" for k in codes if k not in TEMPLATES]
    url = settings.sms_url
    if url and not url.startswith(("http://", "https://")):
        problems.append(f"sms_url must be an http(s) URL, got {url!r}")
    secret = str(table.get("access_key_secret") or settings.sms_secret or "")
    if backend == "http" and not url:
        problems.append("sms_backend http needs sms_url (GOVCRED_SMS_URL)")
    if backend == "aliyun":
        if not table.get("access_key_id"):
            problems.append(f"sms_backend aliyun needs [plugins.{PLUGIN_NAME}] access_key_id")
        if not secret:
            problems.append(f"sms_backend aliyun needs access_key_secret ([plugins.{PLUGIN_NAME}] or GOVCRED_SMS_SECRET)")
        missing = [t for t in TEMPLATES if t not in codes]
        if missing:
            problems.append("sms_backend aliyun needs template_codes for " + ", ".join(missing))
    if settings.production and url.startswith("http://") and backend in ("http", "aliyun"):
        problems.append("production mode needs an https:// sms_url")
    if problems:
        raise ConfigError(f"[plugins.{PLUGIN_NAME}]: " + "; ".join(problems), problems=problems)
    return SmsConfig(
        backend=backend, url=url, signature=settings.sms_signature,
        http_secret=settings.sms_secret if backend == "http" else "",
        access_key_id=str(table.get("access_key_id", "")), access_key_secret=secret,
        template_codes=dict(codes),
        login_codes_per_hour=table.get("login_codes_per_hour", SmsConfig.login_codes_per_hour),
        notifications_per_day=table.get("notifications_per_day", SmsConfig.notifications_per_day),
        connect_timeout=float(table.get("connect_timeout", SmsConfig.connect_timeout)),
        read_timeout=float(table.get("read_timeout", SmsConfig.read_timeout)),
        development=not settings.production,
    )
