"""Push of e-licence records (GB/T 36903 metadata, GB/T 36904 identifier) to the provincial
big-data platform: a JSON-lines drop directory by default, a signed HTTPS API at scale.

Only thin hook implementations live here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from govcred.core import hookimpl
from govcred.plugins.provincial_push.channel import CHANNEL, build_channel, queue_record
from govcred.plugins.provincial_push.config import PushConfig, push_config

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Application, Credential, Outbox, Settings

#: The configuration installed by ``govcred_configure`` for the lifecycle hooks, which get no settings.
_configured: PushConfig | None = None


def current_config() -> PushConfig:
    if _configured is None:
        from govcred.core import Settings

        return push_config(Settings())
    return _configured


@hookimpl
def govcred_configure(settings: "Settings") -> None:
    global _configured
    _configured = push_config(settings)  # raises ConfigError listing every problem


@hookimpl
def govcred_delivery_channels(register: Callable[[str, Callable[..., Any]], None], settings: "Settings") -> None:
    register(CHANNEL, build_channel(settings))


@hookimpl
def govcred_credential_issued(credential: "Credential", application: "Application", outbox: "Outbox") -> None:
    queue_record(credential, application, "issued", credential.status, current_config(), outbox)


@hookimpl
def govcred_credential_status_changed(credential: "Credential", application: "Application", old_status: str,
                                      new_status: str, reason: str, outbox: "Outbox") -> None:
    # the event names the change; the record carries the status itself
    event = "reinstated" if new_status == "valid" else new_status
    queue_record(credential, application, event, new_status, current_config(), outbox)
