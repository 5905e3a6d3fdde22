"""Read what a runtime wrote to the transactional outbox, as a test wants to see it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from govcred.core.orm import outbox as outbox_table
from govcred.core.outbox import OutboxMessage, reveal_secrets


class OutboxInspector:
    """The outbox rows of one runtime, oldest first (committed rows only: it reads through
    its own connection, as the worker does)."""

    def __init__(self, runtime):
        self.runtime = runtime

    def rows(self, channel: str | None = None, *, event_type: str | None = None) -> list[dict[str, Any]]:
        """Every row, or those of ``channel`` and/or ``event_type``, as plain dicts."""
        query = sa.select(outbox_table)
        if channel is not None:
            query = query.where(outbox_table.c.channel == channel)
        if event_type is not None:
            query = query.where(outbox_table.c.event_type == event_type)
        query = query.order_by(outbox_table.c.created_at, outbox_table.c.aggregate_seq, outbox_table.c.id)
        with self.runtime.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def by_channel(self) -> dict[str, list[str]]:
        """``{channel: [event_type, ...]}`` in the order the rows were written."""
        out: dict[str, list[str]] = defaultdict(list)
        for row in self.rows():
            out[row["channel"]].append(row["event_type"])
        return dict(out)

    def event_types(self, channel: str | None = None) -> list[str]:
        return [row["event_type"] for row in self.rows(channel)]

    def messages(self, channel: str | None = None, *, event_type: str | None = None) -> list[OutboxMessage]:
        """The rows as the worker hands them to the channel handler (secrets decrypted)."""
        return [self.message(row) for row in self.rows(channel, event_type=event_type)]

    def message(self, row: dict[str, Any]) -> OutboxMessage:
        """One row (from :meth:`rows`) as the worker hands it to the channel handler."""
        return OutboxMessage(
            id=row["id"],
            channel=row["channel"],
            event_type=row["event_type"],
            aggregate_type=row["aggregate_type"],
            aggregate_id=row["aggregate_id"],
            aggregate_seq=row["aggregate_seq"],
            payload=row["payload"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            secrets=reveal_secrets(self.runtime.secrets.cipher, row["id"], row["payload"]),
        )
