"""``[plugins.sms_gateway]``: every SMS setting, validated together.

``backend`` (``dev``, ``http``, ``aliyun``), ``url``, ``secret`` (the HTTP gateway's bearer
token, or Aliyun's AccessKeySecret when ``access_key_secret`` is not set) and ``signature``
(default ``【青田公安】``) may each be overridden by an environment variable of the host --
``GOVCRED_SMS_BACKEND``, ``GOVCRED_SMS_URL``, ``GOVCRED_SMS_SECRET``, ``GOVCRED_SMS_SIGNATURE``
-- which this plugin reads itself (``settings.environ``, what ``host.environ`` hands it); a
secret set that way stays out of the config file. Every problem is collected and raised in one
:class:`ConfigError`, so an operator fixes the file once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from govcred.core import ConfigError
from govcred.plugins.sms_gateway.templates import MAX_CONTACT, TEMPLATES

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Settings

PLUGIN_NAME = "sms_gateway"
#: the embedded backend that only records messages (development)
DEV_BACKEND = "dev"
BACKENDS = (DEV_BACKEND, "http", "aliyun")
ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
_SIGNATURE = re.compile(r"【[^【】]{2,12}】")


@dataclass(frozen=True)
class SmsConfig:
    backend: str = DEV_BACKEND
    url: str = ""
    #: Qingtian's signature until a county configures its own
    signature: str = "【青田公安】"
    #: how a resident reaches the service, quoted in every notice (咨询…): the 浙里办 entry
    #: until a county configures its consultation phone (``0578-6812345``)
    contact: str = "浙里办“居住证”"
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


#: environment variable -> the table key it overrides
ENV_OVERRIDES = {
    "GOVCRED_SMS_BACKEND": "backend",
    "GOVCRED_SMS_URL": "url",
    "GOVCRED_SMS_SECRET": "secret",
    "GOVCRED_SMS_SIGNATURE": "signature",
}
_TABLE_KEYS = (
    *ENV_OVERRIDES.values(),
    "access_key_id",
    "access_key_secret",
    "template_codes",
    "contact",
    "login_codes_per_hour",
    "notifications_per_day",
    "connect_timeout",
    "read_timeout",
)


def effective_table(settings: Settings) -> dict[str, Any]:
    """``[plugins.sms_gateway]`` with the host's ``GOVCRED_SMS_*`` variables laid over it."""
    table = dict(settings.plugin(PLUGIN_NAME))
    table.update({key: settings.environ[var] for var, key in ENV_OVERRIDES.items() if settings.environ.get(var)})
    return table


def sms_config(settings: Settings) -> SmsConfig:
    """Build and validate the effective SMS configuration; one ConfigError lists every problem."""
    table = effective_table(settings)
    problems = [f"unknown setting {k!r}" for k in sorted(set(table) - set(_TABLE_KEYS))]
    backend = str(table.get("backend", SmsConfig.backend))
    if backend not in BACKENDS:
        problems.append(
            f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}"
            + (" (a Tencent client is not part of this plugin; use aliyun or http)" if backend == "tencent" else "")
        )
    signature = table.get("signature", SmsConfig.signature)
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        problems.append(f"signature must be 2-12 characters inside 【】, got {signature!r}")
    contact = table.get("contact", SmsConfig.contact)
    if not isinstance(contact, str) or not 2 <= len(contact) <= MAX_CONTACT or any(c in contact for c in "【】${}"):
        problems.append(
            f"contact must be 2-{MAX_CONTACT} characters without 【】 or ${{}} (a phone number such as "
            f"0578-6812345, or the 浙里办 entry), got {contact!r}"
        )
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
    url = str(table.get("url", ""))
    if url and not url.startswith(("http://", "https://")):
        problems.append(f"url must be an http(s) URL, got {url!r}")
    shared_secret = str(table.get("secret") or "")
    secret = str(table.get("access_key_secret") or shared_secret)
    if backend == "http" and not url:
        problems.append("backend http needs url (GOVCRED_SMS_URL)")
    if backend == "aliyun":
        if not table.get("access_key_id"):
            problems.append(f"backend aliyun needs [plugins.{PLUGIN_NAME}] access_key_id")
        if not secret:
            problems.append(f"backend aliyun needs access_key_secret ([plugins.{PLUGIN_NAME}] or GOVCRED_SMS_SECRET)")
        missing = [t for t in TEMPLATES if t not in codes]
        if missing:
            problems.append("backend aliyun needs template_codes for " + ", ".join(missing))
    if settings.production and url.startswith("http://") and backend in ("http", "aliyun"):
        problems.append("production mode needs an https:// url")
    if problems:
        raise ConfigError(f"[plugins.{PLUGIN_NAME}]: " + "; ".join(problems), problems=problems)
    return SmsConfig(
        backend=backend,
        url=url,
        signature=signature,
        contact=contact,
        http_secret=shared_secret if backend == "http" else "",
        access_key_id=str(table.get("access_key_id", "")),
        access_key_secret=secret,
        template_codes=dict(codes),
        login_codes_per_hour=table.get("login_codes_per_hour", SmsConfig.login_codes_per_hour),
        notifications_per_day=table.get("notifications_per_day", SmsConfig.notifications_per_day),
        connect_timeout=float(table.get("connect_timeout", SmsConfig.connect_timeout)),
        read_timeout=float(table.get("read_timeout", SmsConfig.read_timeout)),
        development=not settings.production,
    )
