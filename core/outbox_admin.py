"""Operator views and actions on the outbox: list, show, retry (``govcred outbox ...``).

A retry reuses the row's id, so a receiver that already got the message deduplicates it;
every retry request leaves an audit entry, including one that found nothing to do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from govcred.core.exceptions import NotFound
from govcred.core.orm import outbox as outbox_table
from govcred.core.outbox import DEAD, DELIVERED, INFLIGHT, PENDING

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.services.collaborators import Collaborators

_o = outbox_table.c
_LISTED = (
    _o.id,
    _o.channel,
    _o.event_type,
    _o.aggregate_type,
    _o.aggregate_id,
    _o.aggregate_seq,
    _o.status,
    _o.attempts,
    _o.next_attempt_at,
    _o.last_error,
    _o.created_at,
    _o.delivered_at,
)


def list_messages(
    deps: Collaborators, *, dead_only: bool = False, channel: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Newest first; the payload is left out (``show`` prints it)."""
    stmt = sa.select(*_LISTED).order_by(_o.created_at.desc(), _o.aggregate_seq.desc()).limit(limit)
    if dead_only:
        stmt = stmt.where(_o.status == DEAD)
    if channel:
        stmt = stmt.where(_o.channel == channel)
    with deps.uow(readonly=True) as uow:
        return [dict(r._mapping) for r in uow.session.execute(stmt)]


def show_message(deps: Collaborators, message_id: str) -> dict[str, Any]:
    """One row with its payload (the encrypted ``_secret`` left out) and its place in the
    aggregate's order: what it waits for, and which dead earlier rows it was not held behind."""
    with deps.uow(readonly=True) as uow:
        row = uow.session.execute(sa.select(outbox_table).where(_o.id == message_id)).first()
        if row is None:
            raise NotFound(f"没有这条待投递消息 (no outbox message) {message_id}")
        out = dict(row._mapping)
        payload = dict(out.pop("payload") or {})
        out["payload"] = {k: v for k, v in payload.items() if k != "_secret"}
        out["has_secret"] = "_secret" in payload
        out.pop("dedupe_key", None)
        earlier = uow.session.execute(
            sa.select(_o.id, _o.aggregate_seq, _o.status)
            .where(
                _o.aggregate_type == row.aggregate_type,
                _o.aggregate_id == row.aggregate_id,
                _o.channel == row.channel,
                _o.aggregate_seq < row.aggregate_seq,
                _o.status.in_((PENDING, INFLIGHT, DEAD)),
            )
            .order_by(_o.aggregate_seq)
        ).all()
        out["waiting_for"] = [
            {"id": e.id, "seq": e.aggregate_seq, "status": e.status} for e in earlier if e.status != DEAD
        ]
        out["not_held_behind_dead"] = [{"id": e.id, "seq": e.aggregate_seq} for e in earlier if e.status == DEAD]
        if row.status == DEAD:
            out["later_messages_flowing"] = uow.session.execute(
                sa.select(sa.func.count()).where(
                    _o.aggregate_type == row.aggregate_type,
                    _o.aggregate_id == row.aggregate_id,
                    _o.channel == row.channel,
                    _o.aggregate_seq > row.aggregate_seq,
                )
            ).scalar_one()
        return out


@dataclasses.dataclass(frozen=True)
class RetryResult:
    id: str
    #: requeued | already_delivered | inflight
    outcome: str
    previous_status: str
    previous_attempts: int


def retry_messages(
    deps: Collaborators, ids: Iterable[str], *, actor: str = "cli", role: str = "admin"
) -> list[RetryResult]:
    """Put dead or pending rows back to pending, due now, attempts reset, same id.

    Delivered rows are left alone (reported ``already_delivered``), rows a worker holds
    right now too (``inflight``). Unknown ids fail the whole call, naming every one of them,
    before anything changes.
    """
    ids = list(dict.fromkeys(ids))
    results: list[RetryResult] = []
    with deps.uow() as uow:
        s = uow.session
        rows = {
            r.id: r for r in s.execute(sa.select(_o.id, _o.status, _o.attempts).where(_o.id.in_(ids)).with_for_update())
        }
        missing = [i for i in ids if i not in rows]
        if missing:
            raise NotFound(f"没有这些待投递消息 (no outbox messages): {', '.join(missing)}", ids=missing)
        now = deps.clock.now()
        for message_id in ids:
            row = rows[message_id]
            if row.status in (DEAD, PENDING):
                s.execute(
                    sa.update(outbox_table)
                    .where(_o.id == message_id)
                    .values(status=PENDING, attempts=0, next_attempt_at=now, locked_by=None, lease_until=None)
                )
                outcome = "requeued"
            else:
                outcome = "already_delivered" if row.status == DELIVERED else INFLIGHT
            uow.audit.append(
                actor=actor,
                role=role,
                action="outbox.retry",
                object_type="outbox",
                object_id=message_id,
                outcome="success" if outcome == "requeued" else "noop",
                details={"result": outcome, "previous_status": row.status, "previous_attempts": row.attempts},
            )
            results.append(RetryResult(message_id, outcome, row.status, row.attempts))
        uow.commit()
    return results
