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

    def __init__(self, url: str, secret: str, *, timeout: tuple[float, float] = (3.0, 10.0)):
        self._url = url
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
