"""The ``sms`` outbox channel: render, throttle, hand to the configured backend, count.

A backend only transports one rendered message (:class:`SmsBackend`); everything every
backend needs -- the phone from the message's secrets, the template, the per-number limit,
the segment count reported with the delivery -- happens here once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from govcred.core import PermanentDeliveryError
from govcred.plugins.sms_gateway.phone import is_mobile, mask_phone, normalise_phone
from govcred.plugins.sms_gateway.templates import CODE_TEMPLATES, RenderedSms, render, with_contact
from govcred.plugins.sms_gateway.throttle import LOGIN, NOTICE, Limit, Throttle

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

    from govcred.core import BlindIndex, Clock, OutboxMessage
    from govcred.plugins.sms_gateway.config import SmsConfig

log = logging.getLogger(__name__)
CHANNEL = "sms"


class SmsBackend(Protocol):
    name: str

    def send(self, message_id: str, phone: str, sms: RenderedSms, params: Mapping[str, str]) -> str | None:
        """Transport one message; return the provider's message id (if any) or raise a
        delivery error. ``message_id`` is the idempotency key to give the provider."""


class SmsChannel:
    """The handler registered for the ``sms`` channel."""

    def __init__(self, config: SmsConfig, backend: SmsBackend, engine: Engine, index: BlindIndex, clock: Clock):
        self.config = config
        self.backend = backend
        self._index = index
        self.throttle = Throttle(
            engine,
            {
                LOGIN: Limit(config.login_codes_per_hour, dt.timedelta(hours=1)),
                NOTICE: Limit(config.notifications_per_day, dt.timedelta(days=1)),
            },
            clock,
        )

    def __call__(self, message: OutboxMessage) -> dict[str, Any]:
        phone = normalise_phone(message.secrets.get("phone", ""))
        if not is_mobile(phone):
            raise PermanentDeliveryError(f"message {message.id}: no valid mobile number ({mask_phone(phone)})")
        template = message.payload.get("template", "")
        params = message.payload.get("params", {})
        if not isinstance(params, dict):
            raise PermanentDeliveryError(f"message {message.id}: params must be an object")
        # a parameter that must not sit in the row in clear (a login code) travels as a secret
        params = {**params, **{k: v for k, v in message.secrets.items() if k != "phone"}}
        params = with_contact(template, params, self.config.contact)
        sms = render(template, params, self.config.signature)
        kind = LOGIN if template in CODE_TEMPLATES else NOTICE
        phone_key = self._index(phone, "sms-throttle")
        self.throttle.admit(message.id, phone_key, kind)
        provider_id = self.backend.send(message.id, phone, sms, params)
        log.info(
            "sms %s sent to %s via %s: template %s, %d segment(s)",
            message.id,
            mask_phone(phone),
            self.backend.name,
            template,
            sms.segments,
        )
        result: dict[str, Any] = {
            "backend": self.backend.name,
            "template": template,
            "chars": sms.length,
            "segments": sms.segments,
        }
        if provider_id:
            result["provider_id"] = provider_id
        return result
