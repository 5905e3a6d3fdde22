"""The configured push plugin object, the ``provincial_push`` outbox channel and what the
lifecycle hooks queue on it.

``govcred_configure`` builds one :class:`ProvincialPush` from the host (validated
configuration, data directory, clock) and registers it; its hook implementations queue the
records and its channel delivers them. No module-level state: two runtimes in one process
each have their own.

Rows are ordered per permit (aggregate ``credential`` / permit number), so the platform
sees issue, suspension and revocation of one permit in the order they happened. The
holder's ID number rides in the row's encrypted ``secret`` and joins the record only in
the handler, just before it leaves for the platform.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from govcred.core import Clock, PermanentDeliveryError, hookimpl
from govcred.plugins.provincial_push.config import PLUGIN_NAME, PushConfig, push_config
from govcred.plugins.provincial_push.http import HttpPushBackend
from govcred.plugins.provincial_push.jsonl import JsonlBackend
from govcred.plugins.provincial_push.record import credential_record, holder_code, with_holder_code

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Credential, Outbox, OutboxMessage, PluginHost

log = logging.getLogger(__name__)
CHANNEL = "provincial_push"
#: The name the configured plugin object is registered under.
INSTANCE_NAME = f"{PLUGIN_NAME}.push"


class PushBackend(Protocol):
    name: str

    def push(self, message_id: str, event: str, record: dict[str, Any]) -> dict[str, Any]:
        """Deliver one record idempotently (key: ``message_id``) or raise a delivery error."""


class PushChannel:
    def __init__(self, backend: PushBackend):
        self.backend = backend

    def __call__(self, message: OutboxMessage) -> dict[str, Any]:
        payload = message.payload
        if payload.get("error"):
            raise PermanentDeliveryError(f"record {message.id} could not be built: {payload['error']}")
        if not isinstance(payload.get("record"), dict) or not payload.get("event"):
            raise PermanentDeliveryError(f"record {message.id}: payload lacks its event or record")
        id_number = message.secrets.get("holder_id", "")
        if not id_number:
            raise PermanentDeliveryError(f"record {message.id} has no holder ID number")
        record = with_holder_code(payload["record"], id_number)
        result = self.backend.push(message.id, payload["event"], record)
        log.info(
            "pushed %s record of permit %s via %s", payload["event"], payload["record"].get("ZZBH"), self.backend.name
        )
        return {"backend": self.backend.name, **result}


def make_backend(config: PushConfig, data_dir: Path, clock: Clock) -> PushBackend:
    if config.backend == "http":
        return HttpPushBackend(config.url, config.secret, timeout=config.timeout)
    return JsonlBackend(data_dir / "push", clock)


class ProvincialPush:
    """What ``govcred_configure`` registers: the lifecycle hooks and the channel of one runtime."""

    def __init__(self, config: PushConfig, *, data_dir: Path, clock: Clock):
        self.config = config
        self._data_dir = Path(data_dir)
        self._clock = clock

    @classmethod
    def from_host(cls, host: PluginHost) -> ProvincialPush:
        """Raises :class:`ConfigError` naming every problem of the settings."""
        return cls(push_config(host.settings), data_dir=host.settings.data_dir, clock=host.clock)

    def channel(self) -> PushChannel:
        return PushChannel(make_backend(self.config, self._data_dir, self._clock))

    @hookimpl
    def govcred_delivery_channels(self, register: Callable[[str, Callable[..., Any]], None]) -> None:
        register(CHANNEL, self.channel())

    @hookimpl
    def govcred_credential_issued(self, credential: Credential, subject: Mapping[str, str], outbox: Outbox) -> None:
        queue_record(credential, subject, "issued", credential.status, self.config, outbox)

    @hookimpl
    def govcred_credential_status_changed(
        self, credential: Credential, subject: Mapping[str, str], new_status: str, outbox: Outbox
    ) -> None:
        # the event names the change; the record carries the status itself
        event = "reinstated" if new_status == "valid" else new_status
        queue_record(credential, subject, event, new_status, self.config, outbox)


def queue_record(
    credential: Credential, subject: Mapping[str, str], event: str, status: str, config: PushConfig, outbox: Outbox
) -> str | None:
    """Queue the record of ``credential`` for ``event``; never raises for bad data (the
    issuance must not roll back): an unbuildable record is queued as an error the handler
    turns into a dead letter the administrator sees."""
    payload: dict[str, Any] = {"event": event}
    try:
        payload["record"] = credential_record(credential, subject, config, status)
    except ValueError as exc:
        log.error("permit %s: GB/T 36903 record not built: %s", credential.permit_no, exc)
        payload["error"] = str(exc)
    return outbox.add(
        CHANNEL,
        f"push.{event}",
        payload,
        aggregate_type="credential",
        aggregate_id=credential.permit_no,
        dedupe_key=_dedupe_key(credential, event),
        secret={"holder_id": holder_code(subject)},
    )


def _dedupe_key(credential: Credential, event: str) -> str:
    """One issue per credential; one record per status change (a permit may be suspended,
    reinstated and suspended again: each change has its own time)."""
    if event == "issued":
        return f"push:{credential.id}:issued"
    changed = credential.status_changed_at
    return f"push:{credential.id}:{event}:{changed.isoformat() if changed else credential.version}"
