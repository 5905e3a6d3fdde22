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
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from govcred.core.clock import Clock, as_utc
from govcred.core.crypto import FieldCipher
from govcred.core.models import new_id
from govcred.core.orm import outbox as outbox_table
from govcred.core.repository.held import execute_rows

PENDING, INFLIGHT, DELIVERED, DEAD = "pending", "inflight", "delivered", "dead"

# Built once: every add() runs them with fresh parameters, which keeps SQLAlchemy's
# statement construction and cache-key work off the issuance and sweep paths.
_MAX_SEQ = sa.select(sa.func.max(outbox_table.c.aggregate_seq)).where(
    outbox_table.c.aggregate_type == sa.bindparam("t"),
    outbox_table.c.aggregate_id == sa.bindparam("a"),
    outbox_table.c.channel == sa.bindparam("c"),
)
_INSERT = sa.insert(outbox_table)
_INSERT_UNLESS_DUPLICATE = {
    "sqlite": sqlite_insert(outbox_table)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(outbox_table.c.id),
    "postgresql": pg_insert(outbox_table)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(outbox_table.c.id),
}


_MAX_SEQS = (
    sa.select(
        outbox_table.c.aggregate_type,
        outbox_table.c.aggregate_id,
        outbox_table.c.channel,
        sa.func.max(outbox_table.c.aggregate_seq),
    )
    .where(
        # every aggregate type at once (a decision holds an application's and a credential's
        # rows): a pair that was not asked for is ignored by the caller
        outbox_table.c.aggregate_type.in_(sa.bindparam("types", expanding=True)),
        outbox_table.c.aggregate_id.in_(sa.bindparam("ids", expanding=True)),
    )
    .group_by(outbox_table.c.aggregate_type, outbox_table.c.aggregate_id, outbox_table.c.channel)
)
_QUEUED_KEYS = sa.select(outbox_table.c.dedupe_key).where(
    outbox_table.c.dedupe_key.in_(sa.bindparam("keys", expanding=True))
)
_INSERT_MANY_UNLESS_DUPLICATE = {
    "sqlite": sqlite_insert(outbox_table).on_conflict_do_nothing(index_elements=["dedupe_key"]),
    "postgresql": pg_insert(outbox_table).on_conflict_do_nothing(index_elements=["dedupe_key"]),
}


def _insert_unless_duplicate_many(session: Session):
    return _INSERT_MANY_UNLESS_DUPLICATE[session.get_bind().dialect.name]


def _insert_unless_duplicate(session: Session):
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING: the check and the insert in one statement,
    and race-free where a SELECT-then-INSERT is not."""
    return _INSERT_UNLESS_DUPLICATE[session.get_bind().dialect.name]


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
    """Adds outbox rows to the current transaction; ``cipher`` encrypts their ``secret`` values."""

    def __init__(self, session: Session, clock: Clock, cipher: FieldCipher):
        self._session = session
        self._clock = clock
        self._cipher = cipher
        self._seq: dict[tuple[str, str, str], int] = {}
        #: rows added while held (:meth:`hold`), written together by :meth:`release`
        self._held: list[dict[str, Any]] | None = None

    def hold(self) -> None:
        """Collect the rows added from now on instead of writing each at once; :meth:`release`
        writes them with one executemany. For set-based work (a batch of decisions), where one
        INSERT and one MAX(aggregate_seq) probe per row cost more than the rest of a row's work.
        While held, :meth:`add` returns the id the row will have; a ``dedupe_key`` already
        queued is found at release and that row is dropped (its seq stays a gap, which the
        worker's ordering allows: it only asks that no *earlier* seq is undelivered)."""
        self._held = []
        self._held_counts: dict[tuple[str, str, str], int] = {}

    def release(self) -> None:
        """Write the held rows: one query for the aggregates' current seqs, one for dedupe keys
        already queued, one executemany INSERT; then stop holding."""
        rows, self._held = self._held or [], None
        counts, self._held_counts = self._held_counts, {}
        if not rows:
            return
        s = self._session
        base = dict.fromkeys(counts, 0)
        wanted = {"types": sorted({k[0] for k in counts}), "ids": sorted({k[1] for k in counts})}
        for t, a, c, top in s.execute(_MAX_SEQS, wanted):
            if (t, a, c) in base:
                base[(t, a, c)] = top or 0
        keys = [r["dedupe_key"] for r in rows if r["dedupe_key"] is not None]
        queued = set(s.execute(_QUEUED_KEYS, {"keys": keys}).scalars()) if keys else set()
        fresh = []
        for r in rows:
            if r.pop("_relative"):
                r["aggregate_seq"] += base[(r["aggregate_type"], r["aggregate_id"], r["channel"])]
            if r["dedupe_key"] is not None:
                if r["dedupe_key"] in queued:
                    continue
                queued.add(r["dedupe_key"])
            fresh.append(r)
        for key, count in counts.items():
            self._seq[key] = base[key] + count
        execute_rows(s, _insert_unless_duplicate_many(s), fresh)

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
        keep_secret: bool = False,
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
            handler as ``message.secrets``. The worker drops it once the message is delivered
            (a phone, a login code are not needed any more) ...
        :param keep_secret: ... unless this is set: the secret is read again after delivery
            (the provincial push's daily reconciliation); it goes with the row (retention).
        """
        s = self._session
        key = (aggregate_type, aggregate_id, channel)
        if self._held is not None and key not in self._seq:
            self._held_counts[key] = self._held_counts.get(key, 0) + 1
            seq = self._held_counts[key]  # relative: release() adds what is stored
        elif key not in self._seq:
            current = s.execute(_MAX_SEQ, {"t": aggregate_type, "a": aggregate_id, "c": channel}).scalar()
            self._seq[key] = current or 0
        if key in self._seq:
            seq = self._seq[key] + 1
        now = self._clock.now()
        message_id = new_id()
        if secret:
            blob = self._cipher.encrypt(json.dumps(secret).encode(), f"outbox|secret|{message_id}".encode())
            payload = {**payload, "_secret": base64.b64encode(blob).decode()}
            if keep_secret:
                payload[KEEP_SECRET] = True
        row = {
            "id": message_id,
            "channel": channel,
            "event_type": event_type,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "aggregate_seq": seq,
            "payload": payload,
            "dedupe_key": dedupe_key,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": max(now, not_before) if not_before else now,
            "created_at": now,
        }
        if self._held is not None:
            self._held.append({**row, "_relative": key in self._held_counts})
        elif dedupe_key is None:
            s.execute(_INSERT, row)
        elif s.execute(_insert_unless_duplicate(s), row).first() is None:
            return None  # already queued by an earlier transaction
        if key in self._seq:
            self._seq[key] += 1
        return message_id

    def messages(self, channel: str, start: dt.datetime, end: dt.datetime) -> list[OutboxMessage]:
        """The messages of ``channel`` created in ``[start, end)``, oldest first, secrets
        revealed -- for a plugin that accounts for what it sent (a daily reconciliation)."""
        rows = self._session.execute(
            sa.select(outbox_table)
            .where(
                outbox_table.c.channel == channel, outbox_table.c.created_at >= start, outbox_table.c.created_at < end
            )
            .order_by(outbox_table.c.created_at, outbox_table.c.aggregate_seq)
        ).mappings()
        return [
            OutboxMessage(
                id=r["id"],
                channel=r["channel"],
                event_type=r["event_type"],
                aggregate_type=r["aggregate_type"],
                aggregate_id=r["aggregate_id"],
                aggregate_seq=r["aggregate_seq"],
                payload={k: v for k, v in r["payload"].items() if k != "_secret"},
                attempts=r["attempts"],
                created_at=as_utc(r["created_at"]),
                secrets=reveal_secrets(self._cipher, r["id"], r["payload"]),
            )
            for r in rows
        ]


#: payload marker: the encrypted secret stays after delivery (see :meth:`Outbox.add`)
KEEP_SECRET = "_keep_secret"


def reveal_secrets(cipher, message_id: str, payload: dict[str, Any]) -> dict[str, str]:
    """Decrypt what :meth:`Outbox.add` stored under ``_secret`` (the worker calls this)."""
    blob = payload.get("_secret")
    if not blob:
        return {}
    return json.loads(cipher.decrypt(base64.b64decode(blob), f"outbox|secret|{message_id}".encode()))
