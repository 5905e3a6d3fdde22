"""SMS delivery of holder notifications (development log, generic HTTP gateway, Aliyun SMS).

Core emits notification kinds (``govcred_notify``); this plugin maps them to its approved
templates (:mod:`.notify`) and delivers them on its ``sms`` channel. It owns every SMS
setting, in ``[plugins.sms_gateway]``: ``backend``, ``url``, ``secret``, ``signature``
(default ``【青田公安】``), ``contact`` (how residents reach the service, quoted in each
notice; default the 浙里办 entry), the Aliyun keys and template codes, the per-number limits and the
timeouts (:mod:`.config`). The host's ``GOVCRED_SMS_BACKEND``, ``GOVCRED_SMS_URL``,
``GOVCRED_SMS_SECRET`` and ``GOVCRED_SMS_SIGNATURE`` override the table; the plugin reads them
itself from ``host.environ``.

``govcred_configure`` builds a configured :class:`.channel.SmsGateway` on the host's database
and secrets and registers it (no module-level state); only thin, stateless hook
implementations live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from govcred.core import hookimpl
from govcred.plugins.sms_gateway.notify import queue_notice
from govcred.plugins.sms_gateway.tables import migration_source

if TYPE_CHECKING:  # pragma: no cover
    import click

    from govcred.core import MigrationSource, Notification, Outbox, PluginHost, Settings


@hookimpl
def govcred_configure(settings: Settings, host: PluginHost) -> None:
    from govcred.plugins.sms_gateway.channel import GATEWAY_NAME, SmsGateway

    gateway = SmsGateway.from_host(host)  # raises ConfigError listing every problem
    host.register(gateway, GATEWAY_NAME)


@hookimpl
def govcred_production_refusals(settings: Settings) -> list[str]:
    # the development backend only records messages: in production nobody would receive a
    # sign-in code or a notice, and the residents would not know why
    from govcred.plugins.sms_gateway.config import DEV_BACKEND, PLUGIN_NAME, effective_table

    if effective_table(settings).get("backend", DEV_BACKEND) != DEV_BACKEND:
        return []
    return [
        f"production mode refuses the development SMS backend ([plugins.{PLUGIN_NAME}] backend = dev "
        'only records messages, nobody receives them): set backend = "aliyun" or "http" '
        "(or GOVCRED_SMS_BACKEND) with its url and secret"
    ]


@hookimpl
def govcred_notify(notification: Notification, outbox: Outbox) -> str | None:
    return queue_notice(notification, outbox)


@hookimpl
def govcred_cli_commands(cli: click.Group) -> None:
    from govcred.plugins.sms_gateway.cli import sms

    cli.add_command(sms)


@hookimpl
def govcred_migrations() -> MigrationSource:
    return migration_source()
