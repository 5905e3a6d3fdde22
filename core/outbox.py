"""The transactional outbox: messages written in the same transaction as the change.

Plugins add rows from lifecycle hooks (``outbox.add(...)``); nothing is sent here. The
worker (``core.worker``) delivers committed rows later through the channel handler a plugin
registered, with the row ``id`` as the idempotency key, so a retry is never a second message.
Rows of one aggregate on one channel carry an increasing ``aggregate_seq`` and are delivered
in that order.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.clock import Clock
from core.models import new_id
from core.orm import outbox as outbox_table

PENDING, INFLIGHT, DELIVERED, DEAD = "pending", "inflight", "delivered", "dead"


@dataclass(frozen=True)
class OutboxMessage:
    """What a channel handler receives."""

    id: str
    channel: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    aggregate_seq: int
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime
    #: values given as ``secret=`` to :meth:`Outbox.add`, decrypted for the handler only
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        return self.id


class Outbox:
    """Adds outbox rows to the current transaction."""

    def __init__(self, session: Session, clock: Clock):
        self._session = session
        self._clock = clock
        self._seq: dict[tuple[str, str, str], int] = {}
        self.added: list[str] = []

    def add(
        self,
        channel: str,
        event_type: str,
        payload: dict[str, Any],
        *,
        aggregate_type: str,
        aggregate_id: str,
        dedupe_key: str | None = None,
        not_before: dt.datetime | None = None,
        secret: dict[str, str] | None = None,
    ) -> str | None:
        """Queue one message; returns its id, or ``None`` when ``dedupe_key`` was already queued.

        :param channel: a channel registered through ``govcred_delivery_channels``.
        :param event_type: e.g. ``application.accepted``, ``credential.issued``.
        :param payload: JSON-serialisable; never a full ID number.
        :param aggregate_type: ``application`` or ``credential`` -- ordering is kept per aggregate.
        :param aggregate_id: the aggregate's id.
        :param dedupe_key: a message with the same key is never queued twice.
        :param not_before: do not deliver before this time (daytime-only reminders).
        :param secret: personal data the handler needs (a phone number): stored encrypted
            in the payload under ``_secret``, bound to the row id, and handed to the
            handler as ``message.secrets``.
        """
        s = self._session
        if dedupe_key is not None:
            exists = s.execute(
                sa.select(outbox_table.c.id).where(outbox_table.c.dedupe_key == dedupe_key)
            ).first()
            if exists is not None:
                return None
        key = (aggregate_type, aggregate_id, channel)
        if key not in self._seq:
            current = s.execute(
                sa.select(sa.func.max(outbox_table.c.aggregate_seq)).where(
                    outbox_table.c.aggregate_type == aggregate_type,
                    outbox_table.c.aggregate_id == aggregate_id,
                    outbox_table.c.channel == channel,
                )
            ).scalar()
            self._seq[key] = current or 0
        self._seq[key] += 1
        now = self._clock.now()
        message_id = new_id()
        if secret:
            cipher = s.info["cipher"]
            blob = cipher.encrypt(json.dumps(secret).encode(), f"outbox|secret|{message_id}".encode())
            payload = {**payload, "_secret": base64.b64encode(blob).decode()}
        s.execute(
            sa.insert(outbox_table).values(
                id=message_id, channel=channel, event_type=event_type, aggregate_type=aggregate_type,
                aggregate_id=aggregate_id, aggregate_seq=self._seq[key], payload=payload,
                dedupe_key=dedupe_key, status=PENDING, attempts=0,
                next_attempt_at=max(now, not_before) if not_before else now, created_at=now,
            )
        )
        self.added.append(message_id)
        return message_id


def reveal_secrets(cipher, message_id: str, payload: dict[str, Any]) -> dict[str, str]:
    """Decrypt what :meth:`Outbox.add` stored under ``_secret`` (the worker calls this)."""
    blob = payload.get("_secret")
    if not blob:
        return {}
    return json.loads(cipher.decrypt(base64.b64decode(blob), f"outbox|secret|{message_id}".encode()))
