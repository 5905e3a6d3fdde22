"""Per-number send limits, checked when a message is delivered, shared by every worker.

The ledger is the ``sms_sends`` table, so several worker processes (and every backend)
count against one limit. A phone number appears there only as core's keyed blind index.

:meth:`Throttle.admit` checks and takes a slot in one write transaction, before the
message goes to the gateway (providers count a submitted send whatever its receipt, and so
does this ledger). The transaction is serialised per number -- SQLite has one writer, and
on PostgreSQL a transaction-scoped advisory lock on the number's key -- so concurrent
workers never both take the last slot. A redelivery of a message that already holds a
slot passes without taking another: a gateway outage costs no extra quota.

Over the limit:

* a **login code** fails permanently: it expires after 5 minutes, so sending it when the
  window frees (up to an hour later) would only deliver a useless code, and a held-back
  flood of codes is exactly the SMS bombing the limit exists to stop. The row goes to the
  dead letters, visible to the administrator; the resident asks for a new code later.
* a **notification** is retried once the oldest send in the window has aged out
  (``RetryableDeliveryError(retry_after=...)``): the resident still needs to hear about
  the decision.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from govcred.core import Clock, PermanentDeliveryError, RetryableDeliveryError, as_utc
from govcred.plugins.sms_gateway.tables import sms_sends

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

    def admit(self, message_id: str, phone_key: str, kind: str) -> None:
        """Take a slot of ``kind`` for ``phone_key``, or raise when the window is full."""
        limit = self._limits[kind]
        now = self._clock.now()
        with self._engine.begin() as conn:
            _lock_number(conn, phone_key)
            if conn.execute(sa.select(sms_sends.c.message_id).where(sms_sends.c.message_id == message_id)).first():
                return
            recent = (
                conn.execute(
                    sa.select(sms_sends.c.sent_at)
                    .where(
                        sms_sends.c.phone_key == phone_key,
                        sms_sends.c.kind == kind,
                        sms_sends.c.sent_at > now - limit.window,
                    )
                    .order_by(sms_sends.c.sent_at)
                )
                .scalars()
                .all()
            )
            if len(recent) < limit.count:
                conn.execute(
                    sa.insert(sms_sends).values(message_id=message_id, phone_key=phone_key, kind=kind, sent_at=now)
                )
                return
        frees_at = as_utc(recent[len(recent) - limit.count]) + limit.window
        detail = f"per-number limit reached: {limit.count} {kind} message(s) per {limit.window}"
        if kind == LOGIN:
            raise PermanentDeliveryError(detail, code="SMS_THROTTLED")
        raise RetryableDeliveryError(
            detail, retry_after=max(1.0, (frees_at - now).total_seconds()), code="SMS_THROTTLED"
        )


def _lock_number(conn: Connection, phone_key: str) -> None:
    """Serialise admissions for one number until the transaction ends (SQLite: already)."""
    if conn.dialect.name == "postgresql":
        key = int(phone_key[:15], 16)  # 60 bits of the keyed hash: fits a signed bigint
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
