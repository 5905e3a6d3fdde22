"""A generic HTTP SMS gateway (a provincial government gateway or an in-house relay).

``POST <sms_url>`` with ``{"phone", "template", "params", "text"}`` as JSON and the outbox
message id as ``Idempotency-Key``, so the gateway can drop a redelivered message. Errors are
mapped by :func:`govcred.core.http_delivery.send` (5xx/408/425/429/timeouts -> retry, honouring
``Retry-After``; other 4xx -> permanent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import requests

from govcred.core import http_send as send
from govcred.plugins.sms_gateway.templates import RenderedSms


class HttpBackend:
    name = "http"

    def __init__(self, url: str, *, secret: str = "", timeout: tuple[float, float] = (3.0, 10.0)):
        self._url = url
        self._secret = secret
        self._timeout = timeout
        self._session = requests.Session()

    def send(self, message_id: str, phone: str, sms: RenderedSms, params: Mapping[str, str]) -> str | None:
        body = json.dumps(
            {"phone": phone, "template": sms.template, "params": dict(params), "text": sms.text}, ensure_ascii=False
        ).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": message_id}
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        response = send("POST", self._url, data=body, headers=headers, timeout=self._timeout, session=self._session)
        try:
            answer = response.json()
        except ValueError:
            return None
        provider_id = (answer.get("id") or answer.get("message_id")) if isinstance(answer, dict) else None
        return str(provider_id) if provider_id else None
