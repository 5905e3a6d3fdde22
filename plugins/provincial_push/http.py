"""The provincial platform's HTTPS API: signed, idempotent POSTs.

Body: ``{"id", "event", "record"}`` as UTF-8 JSON. Headers: ``X-Signature:
sha256=<hex HMAC-SHA256(push_secret, body)>`` over the exact bytes sent, and
``Idempotency-Key`` = the outbox message id, so a redelivery is recognised by the platform.
Errors are mapped by :func:`govcred.core.http_delivery.send`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import requests

from govcred.core import http_send as send


def body_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpPushBackend:
    name = "http"

    def __init__(self, url: str, secret: str, *, timeout: tuple[float, float] = (3.0, 10.0), manifest_url: str = ""):
        self._url = url
        self._manifest_url = manifest_url or url.rstrip("/") + "/manifests"
        self._secret = secret
        self._timeout = timeout
        self._session = requests.Session()

    def push(self, message_id: str, event: str, record: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(
            {"id": message_id, "event": event, "record": record}, ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message_id,
            "X-Signature": body_signature(self._secret, body),
        }
        response = send("POST", self._url, data=body, headers=headers, timeout=self._timeout, session=self._session)
        return {"status": response.status_code}

    def acknowledge(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """POST the day's manifest (signed like every request); the platform answers
        ``{"date", "records": {id: digest}}`` for the entries it holds."""
        body = json.dumps(manifest, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": f"manifest-{manifest['date']}-{manifest['created_at']}",
            "X-Signature": body_signature(self._secret, body),
        }
        response = send(
            "POST", self._manifest_url, data=body, headers=headers, timeout=self._timeout, session=self._session
        )
        try:
            return response.json()
        except ValueError as exc:
            raise ValueError(f"{self._manifest_url}: the acknowledgement is not JSON") from exc

    def forget_acknowledgement(self, day: str) -> None:
        """The platform answers afresh on every request: nothing kept here."""
