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

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from govcred.core import BEIJING, Clock, GovcredError, PermanentDeliveryError, hookimpl
from govcred.plugins.provincial_push.config import PLUGIN_NAME, PushConfig, push_config
from govcred.plugins.provincial_push.http import HttpPushBackend
from govcred.plugins.provincial_push.jsonl import JsonlBackend
from govcred.plugins.provincial_push.reconcile import (
    PLATFORM_ID,
    Reconciliation,
    acknowledged_records,
    day_bounds,
    manifest_entries,
    signed_manifest,
)
from govcred.plugins.provincial_push.record import (
    credential_record,
    holder_code,
    with_holder_code,
    without_holder_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core import Credential, Outbox, OutboxMessage, PluginHost, UnitOfWork

log = logging.getLogger(__name__)
CHANNEL = "provincial_push"
RECONCILE_JOB = "provincial_push-reconcile"
#: The name the configured plugin object is registered under.
INSTANCE_NAME = f"{PLUGIN_NAME}.push"


class PlatformAnswerError(GovcredError):
    """The platform answered the reconciliation with something that is not an acknowledgement."""

    code = "PLATFORM_ANSWER_INVALID"
    http_status = 502


class PushBackend(Protocol):
    name: str

    def push(self, message_id: str, event: str, record: dict[str, Any]) -> dict[str, Any]:
        """Deliver one record idempotently (key: ``message_id``) or raise a delivery error."""

    def acknowledge(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Hand the platform a day's signed manifest; return its acknowledgement."""

    def forget_acknowledgement(self, day: str) -> None:
        """Drop a kept acknowledgement once its differences are queued again."""


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
        record = with_holder_code(payload["record"], id_number, message.secrets.get("holder_name"))
        # a reconciliation re-push speaks for the message the platform lost or altered
        result = self.backend.push(payload.get("platform_id") or message.id, payload["event"], record)
        log.info(
            "pushed %s record of permit %s via %s", payload["event"], payload["record"].get("ZZBH"), self.backend.name
        )
        return {"backend": self.backend.name, **result}


def make_backend(config: PushConfig, data_dir: Path, clock: Clock) -> PushBackend:
    if config.backend == "http":
        return HttpPushBackend(config.url, config.secret, timeout=config.timeout, manifest_url=config.manifest_url)
    return JsonlBackend(data_dir / "push", clock)


class ProvincialPush:
    """What ``govcred_configure`` registers: the lifecycle hooks and the channel of one runtime."""

    def __init__(
        self,
        config: PushConfig,
        *,
        data_dir: Path,
        clock: Clock,
        manifest_key: bytes = b"",
        unit_of_work: Callable[..., Any] | None = None,
    ):
        self.config = config
        self._data_dir = Path(data_dir)
        self._clock = clock
        self._manifest_key = manifest_key or config.secret.encode()
        self._uow = unit_of_work

    @classmethod
    def from_host(cls, host: PluginHost) -> ProvincialPush:
        """Raises :class:`ConfigError` naming every problem of the settings."""
        config = push_config(host.settings)
        key = config.secret.encode()
        if not key and host.secrets is not None:
            # no shared secret (a development drop directory): a key of its own, derived
            # from the issuer's master secret, so the manifest is still signed
            key = hmac.new(host.secrets.session_key, b"provincial-push-manifest", hashlib.sha256).digest()
        return cls(
            config, data_dir=host.settings.data_dir, clock=host.clock, manifest_key=key, unit_of_work=host.unit_of_work
        )

    @hookimpl
    def govcred_periodic_jobs(self, register: Callable[[str, float, Callable[[], Any]], None]) -> None:
        if self._uow is not None:
            register(RECONCILE_JOB, 24 * 3600, self.reconcile_yesterday)

    def reconcile_yesterday(self) -> dict[str, Any]:
        """The daily job: the Beijing day before today, audited like the command."""
        day = self._clock.now().astimezone(BEIJING).date() - dt.timedelta(days=1)
        with self._uow() as uow:
            result = self.reconcile(uow.outbox, day)
            audit_reconciliation(uow, result, actor="system:reconcile")
            uow.commit()
        if result["missing"] or result["different"]:
            log.warning(
                "reconciliation of %s: %d missing, %d different, %d re-pushed",
                day,
                len(result["missing"]),
                len(result["different"]),
                result["requeued"],
            )
        return result

    @property
    def manifest_key(self) -> bytes:
        return self._manifest_key

    def reconcile(self, outbox: Outbox, day: dt.date) -> dict[str, Any]:
        """Reconcile one Beijing day inside the caller's transaction (which must commit the
        re-pushes it queues); returns what ``govcred reconcile --json`` prints."""
        start, end = day_bounds(day)
        entries = manifest_entries(outbox.messages(CHANNEL, start, end))
        now = self._clock.now()
        manifest = signed_manifest(day, self.config.county_code, entries, self._manifest_key, now)
        backend = make_backend(self.config, self._data_dir, self._clock)
        try:
            acknowledged = acknowledged_records(backend.acknowledge(manifest))
        except (ValueError, RecursionError) as exc:  # JSON nested too deep is no ValueError
            raise PlatformAnswerError(f"省平台的对账回执无法识别：{exc}") from exc
        result = Reconciliation(day, entries, acknowledged)
        requeued = 0
        for entry in [*result.missing, *result.different]:
            message = entry.message
            payload = {"event": entry.event, "record": message.payload["record"], PLATFORM_ID: entry.platform_id}
            added = outbox.add(
                CHANNEL,
                f"push.{entry.event}",
                payload,
                aggregate_type="credential",
                aggregate_id=entry.permit_no,
                dedupe_key=f"push:reconcile:{entry.platform_id}:{now.isoformat()}",
                secret=dict(message.secrets),
                keep_secret=True,
            )
            requeued += added is not None
        if requeued:
            backend.forget_acknowledgement(day.isoformat())
        return result.report(requeued)

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
    secret = {"holder_id": holder_code(subject)}
    try:
        payload["record"], secret["holder_name"] = without_holder_name(
            credential_record(credential, subject, config, status)
        )
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
        secret=secret,
        keep_secret=True,  # the daily reconciliation digests the record with it, after delivery
    )


def _dedupe_key(credential: Credential, event: str) -> str:
    """One issue per credential; one record per status change (a permit may be suspended,
    reinstated and suspended again: each change has its own time)."""
    if event == "issued":
        return f"push:{credential.id}:issued"
    changed = credential.status_changed_at
    return f"push:{credential.id}:{event}:{changed.isoformat() if changed else credential.version}"


def audit_reconciliation(uow: UnitOfWork, result: Mapping[str, Any], *, actor: str) -> None:
    """One audit entry per run: the day and the counts (identifiers stay in the output)."""
    uow.audit.append(
        actor=actor,
        role="admin",
        action="push.reconciled",
        object_type="push_day",
        object_id=result["date"],
        details={k: (len(v) if isinstance(v, list) else v) for k, v in result.items()},
    )
