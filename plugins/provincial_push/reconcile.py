"""Daily reconciliation with the provincial platform: what the county pushed on a Beijing day
against what the platform acknowledges holding, and a re-push of the difference.

The **manifest** of a day lists every record queued for the platform that day -- issues,
re-issues (签注, 补领) and status changes -- one entry per record: the id the platform
knows it by (the outbox message id, ``Idempotency-Key`` of the HTTPS API, ``id`` of a drop
line), its GB/T 36904 identifier (``ZZBS``), the event and the SHA-256 of the record as sent
(holder code included, canonical JSON), so the manifest names no person in clear. It is
signed with HMAC-SHA256 under the push secret, the key the platform already verifies our
requests with (a development drop directory without a secret signs with a key derived from
the issuer's master secret).

The platform's **acknowledgement** maps each id it holds to the digest of what it holds.
An entry it lacks is *missing*, one it holds with another digest *different*; both are queued
again through the outbox (same platform id, so the platform replaces what it has) and
reported. A day reconciles cleanly once a later run finds nothing missing or different.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from govcred.core import BEIJING, OutboxMessage
from govcred.plugins.provincial_push.record import with_holder_code

#: payload key of a re-push: the platform id of the message it replaces
PLATFORM_ID = "platform_id"


def canonical(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def record_digest(record: Mapping[str, Any]) -> str:
    """The digest both sides compute over a record as the platform received it."""
    return hashlib.sha256(canonical(record)).hexdigest()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=BEIJING)
    return start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


@dataclass(frozen=True)
class ManifestEntry:
    platform_id: str
    identifier: str
    permit_no: str
    event: str
    digest: str
    message: OutboxMessage

    def as_dict(self) -> dict[str, str]:
        return {"id": self.platform_id, "zzbs": self.identifier, "event": self.event, "digest": self.digest}


def manifest_entries(messages: Iterable[OutboxMessage]) -> list[ManifestEntry]:
    """One entry per platform id (a re-push stands in for the message it replaces);
    records that could not be built (dead letters already) are not the platform's to hold."""
    entries: dict[str, ManifestEntry] = {}
    for message in messages:
        payload = message.payload
        record, holder = payload.get("record"), message.secrets.get("holder_id", "")
        if not isinstance(record, dict) or not payload.get("event") or not holder:
            continue
        platform_id = payload.get(PLATFORM_ID) or message.id
        entries[platform_id] = ManifestEntry(
            platform_id=platform_id,
            identifier=str(record.get("ZZBS", "")),
            permit_no=message.aggregate_id,
            event=str(payload["event"]),
            digest=record_digest(with_holder_code(record, holder, message.secrets.get("holder_name"))),
            message=message,
        )
    return list(entries.values())


def signed_manifest(day: dt.date, county: str, entries: list[ManifestEntry], key: bytes, now: dt.datetime) -> dict:
    body = {
        "date": day.isoformat(),
        "county": county,
        "created_at": now.astimezone(dt.UTC).isoformat(),
        "count": len(entries),
        "entries": [e.as_dict() for e in entries],
    }
    return {**body, "signature": "hmac-sha256=" + hmac.new(key, canonical(body), hashlib.sha256).hexdigest()}


def manifest_signature_valid(manifest: Mapping[str, Any], key: bytes) -> bool:
    """What the platform checks (and the tests): the signature over everything else."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    expected = "hmac-sha256=" + hmac.new(key, canonical(body), hashlib.sha256).hexdigest()
    given = str(manifest.get("signature", "")).encode("utf-8", "surrogatepass")  # bytes: any text the file held
    return hmac.compare_digest(given, expected.encode())


@dataclass(frozen=True)
class Reconciliation:
    day: dt.date
    entries: list[ManifestEntry]
    acknowledged: Mapping[str, str]

    @property
    def missing(self) -> list[ManifestEntry]:
        return [e for e in self.entries if e.platform_id not in self.acknowledged]

    @property
    def different(self) -> list[ManifestEntry]:
        return [
            e
            for e in self.entries
            if e.platform_id in self.acknowledged and self.acknowledged[e.platform_id] != e.digest
        ]

    def report(self, requeued: int) -> dict[str, Any]:
        """What ``govcred reconcile --json`` prints; ids are the GB/T 36904 identifiers."""
        return {
            "date": self.day.isoformat(),
            "local": len(self.entries),
            "acknowledged": sum(1 for e in self.entries if e.platform_id in self.acknowledged),
            "missing": sorted({e.identifier for e in self.missing}),
            "different": sorted({e.identifier for e in self.different}),
            "requeued": requeued,
        }


def acknowledged_records(answer: Any) -> dict[str, str]:
    """``{id: digest}`` from the platform's answer; anything else is the platform's error."""
    records = answer.get("records") if isinstance(answer, Mapping) else None
    if not isinstance(records, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in records.items()
    ):
        raise ValueError("the acknowledgement has no records mapping of id to digest")
    return dict(records)
