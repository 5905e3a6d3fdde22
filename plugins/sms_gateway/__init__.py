"""SMS delivery of holder notifications (development log, generic HTTP gateway, Aliyun SMS).

Only thin hook implementations live here; templates, backends, the per-number throttle and
the outbox producers are in the modules next to this one. Other parts of the system queue a
login code with :func:`queue_login_code`; the lifecycle sweep queues the ``endorsement_due``
template itself (params ``permit_no``, ``start``, ``end``).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from govcred.core import hookimpl
from govcred.plugins.sms_gateway import notify as _notify
from govcred.plugins.sms_gateway.backend import CHANNEL
from govcred.plugins.sms_gateway.notify import queue_login_code
from govcred.plugins.sms_gateway.tables import migration_source

if TYPE_CHECKING:  # pragma: no cover
    import click

    from govcred.core import Application, Credential, Decision, MigrationSource, Outbox, Settings

__all__ = ["queue_login_code"]
log = logging.getLogger(__name__)


@hookimpl
def govcred_configure(settings: "Settings") -> None:
    from govcred.plugins.sms_gateway.config import sms_config

    config = sms_config(settings)  # raises ConfigError listing every problem
    if settings.production and config.backend == "dev":
        log.warning("生产模式下短信仍使用开发记录后端，居民收不到短信 -- production mode with sms_backend=dev: "
                    "messages are only recorded in sms_messages, nobody receives them")


@hookimpl
def govcred_delivery_channels(register: Callable[[str, Callable[..., Any]], None], settings: "Settings") -> None:
    from govcred.plugins.sms_gateway.channel import build_channel

    register(CHANNEL, build_channel(settings))


@hookimpl
def govcred_application_accepted(application: "Application", outbox: "Outbox") -> None:
    _notify.queue_received(application, outbox)


@hookimpl
def govcred_application_decided(application: "Application", decision: "Decision", outbox: "Outbox") -> None:
    _notify.queue_decided(application, decision, outbox)


@hookimpl
def govcred_credential_status_changed(credential: "Credential", application: "Application", old_status: str,
                                      new_status: str, reason: str, outbox: "Outbox") -> None:
    _notify.queue_status_changed(credential, application, new_status, outbox)


@hookimpl
def govcred_cli_commands(cli: "click.Group") -> None:
    from govcred.plugins.sms_gateway.cli import sms

    cli.add_command(sms)


@hookimpl
def govcred_migrations() -> "MigrationSource":
    return migration_source()
