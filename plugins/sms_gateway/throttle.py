"""Per-number send limits, checked when a message is delivered, shared by every worker.

The ledger is the ``sms_sends`` table, so several worker processes (and every backend)
count against one limit. A phone number appears there only as core's keyed blind index.

Over the limit:

* a **login code** fails permanently: it expires after 5 minutes, so sending it when the
  window frees (up to an hour later) would only deliver a useless code, and a held-back
  flood of codes is exactly the SMS bombing the limit exists to stop. The row goes to the
  dead letters, visible to the administrator; the resident asks for a new code later.
* a **notification** is retried once the oldest send in the window has aged out
  (``RetryableDeliveryError(retry_after=...)``): the resident still needs to hear about
  the decision.

A redelivery of a message already in the ledger is never throttled (it was counted once).
Two workers sending to one number at the same instant may each pass a check at the limit,
so the bound can be exceeded by at most the number of workers; the provider's own limit
sits behind this one.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.clock import Clock, as_utc
from core.db import READONLY
from core.exceptions import PermanentDeliveryError, RetryableDeliveryError
from plugins.sms_gateway.tables import sms_sends

LOGIN, NOTICE = "login", "notice"


@dataclass(frozen=True)
class Limit:
    count: int
    window: dt.timedelta


class Throttle:
    def __init__(self, engine: Engine, limits: dict[str, Limit], clock: Clock):
        self._engine = engine
        self._limits = limits
        self._clock = clock

    def check(self, message_id: str, phone_key: str, kind: str) -> None:
        """Raise when ``phone_key`` already had its quota of ``kind`` in the window."""
        limit = self._limits[kind]
        now = self._clock.now()
        with self._engine.connect() as conn:
            conn.execution_options(**{READONLY: True})
            if conn.execute(sa.select(sms_sends.c.message_id).where(sms_sends.c.message_id == message_id)).first():
                return
            recent = conn.execute(
                sa.select(sms_sends.c.sent_at)
                .where(sms_sends.c.phone_key == phone_key, sms_sends.c.kind == kind,
                       sms_sends.c.sent_at > now - limit.window)
                .order_by(sms_sends.c.sent_at)
            ).scalars().all()
        if len(recent) < limit.count:
            return
        frees_at = as_utc(recent[len(recent) - limit.count]) + limit.window
        detail = f"per-number limit reached: {limit.count} {kind} message(s) per {limit.window}"
        if kind == LOGIN:
            raise PermanentDeliveryError(detail, code="SMS_THROTTLED")
        raise RetryableDeliveryError(detail, retry_after=max(1.0, (frees_at - now).total_seconds()),
                                     code="SMS_THROTTLED")

    def record(self, message_id: str, phone_key: str, kind: str, provider_id: str | None) -> None:
        """Count one send; a second record of the same message changes nothing."""
        with self._engine.begin() as conn:
            if conn.execute(sa.select(sms_sends.c.message_id).where(sms_sends.c.message_id == message_id)).first():
                return
            conn.execute(sa.insert(sms_sends).values(
                message_id=message_id, phone_key=phone_key, kind=kind, sent_at=self._clock.now(),
                provider_id=(provider_id or None) and provider_id[:64],
            ))
