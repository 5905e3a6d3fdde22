"""Build the ``sms`` channel handler the configured backend needs."""
from __future__ import annotations

from typing import TYPE_CHECKING

from govcred.core import Clock
from govcred.core.crypto import load_secrets
from govcred.core.db import make_engine
from govcred.plugins.sms_gateway.aliyun import AliyunBackend
from govcred.plugins.sms_gateway.backend import SmsBackend, SmsChannel
from govcred.plugins.sms_gateway.config import SmsConfig, sms_config
from govcred.plugins.sms_gateway.dev import DevBackend
from govcred.plugins.sms_gateway.http import HttpBackend

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

    from govcred.core import Settings


def make_backend(config: SmsConfig, engine: "Engine", clock: Clock) -> SmsBackend:
    if config.backend == "http":
        return HttpBackend(config.url, secret=config.http_secret, timeout=config.timeout)
    if config.backend == "aliyun":
        return AliyunBackend(config.endpoint, config.access_key_id, config.access_key_secret, config.sign_name,
                             config.template_codes, timeout=config.timeout)
    return DevBackend(engine, clock, signature=config.signature, development=config.development)


def build_channel(settings: "Settings", *, engine: "Engine | None" = None, clock: Clock | None = None) -> SmsChannel:
    """The handler for ``settings``; the worker's process gets its own engine on the database."""
    config = sms_config(settings)
    engine = engine or make_engine(settings.database)
    clock = clock or Clock()
    return SmsChannel(config, make_backend(config, engine, clock), engine, load_secrets(settings).index, clock)
