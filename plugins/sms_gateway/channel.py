"""The configured SMS gateway: built from the host in ``govcred_configure``, registered as a
plugin object, and the ``sms`` channel it hands the worker.

The channel works on the host's database (the throttle's ledger, the development log) and
its secrets (the keyed blind index of phone numbers); nothing here builds an engine or reads
keys of its own, so two runtimes in one process each get their own gateway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from govcred.core import ConfigError, hookimpl
from govcred.plugins.sms_gateway.aliyun import AliyunBackend
from govcred.plugins.sms_gateway.backend import CHANNEL, SmsBackend, SmsChannel
from govcred.plugins.sms_gateway.config import PLUGIN_NAME, SmsConfig, sms_config
from govcred.plugins.sms_gateway.dev import DevBackend
from govcred.plugins.sms_gateway.http import HttpBackend

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

    from govcred.core import Clock, PluginHost, Secrets

#: The name the configured gateway is registered under.
GATEWAY_NAME = f"{PLUGIN_NAME}.gateway"


def make_backend(config: SmsConfig, engine: Engine, clock: Clock) -> SmsBackend:
    if config.backend == "http":
        return HttpBackend(config.url, secret=config.http_secret, timeout=config.timeout)
    if config.backend == "aliyun":
        return AliyunBackend(
            config.endpoint,
            config.access_key_id,
            config.access_key_secret,
            config.sign_name,
            config.template_codes,
            timeout=config.timeout,
        )
    return DevBackend(engine, clock, signature=config.signature, development=config.development)


def build_channel(config: SmsConfig, *, engine: Engine, secrets: Secrets, clock: Clock) -> SmsChannel:
    """The ``sms`` handler for ``config`` on ``engine`` (the host's database)."""
    return SmsChannel(config, make_backend(config, engine, clock), engine, secrets.index, clock)


class SmsGateway:
    """What ``govcred_configure`` registers: the validated configuration and the host's
    database, secrets and clock, from which the ``sms`` channel is built."""

    def __init__(self, config: SmsConfig, *, engine: Engine | None, secrets: Secrets | None, clock: Clock):
        self.config = config
        self._engine = engine
        self._secrets = secrets
        self._clock = clock

    @classmethod
    def from_host(cls, host: PluginHost) -> SmsGateway:
        """Raises :class:`ConfigError` naming every problem of the settings."""
        return cls(sms_config(host.settings), engine=host.engine, secrets=host.secrets, clock=host.clock)

    def channel(self) -> SmsChannel:
        if self._engine is None or self._secrets is None:
            raise ConfigError(
                f"the {CHANNEL!r} channel needs the runtime's database and secrets "
                "(configure the plugins with a runtime's host)"
            )
        return build_channel(self.config, engine=self._engine, secrets=self._secrets, clock=self._clock)

    @hookimpl
    def govcred_delivery_channels(self, register: Callable[[str, Callable[..., Any]], None]) -> None:
        register(CHANNEL, self.channel())
