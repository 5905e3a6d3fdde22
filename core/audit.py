"""Append-only audit log (等保 2.0 安全审计; security checklist W-12), tamper-evident beyond
the database in the manner of Certificate Transparency (RFC 9162) and Sigstore's Rekor.

An entry is written in the same transaction as the change it records: one INSERT into
``audit_log`` (``seq`` assigned by the database) and one into ``audit_pending``. No shared row
is read or locked, so concurrent writers do not queue behind one another. The checkpointer
(:mod:`govcred.core.audit_checkpoints`) later puts pending entries into a Merkle tree whose
signed checkpoints go to witnesses outside the database; ``govcred audit verify``
(:mod:`govcred.core.audit_verify`) recomputes the tree from the entries and compares it with
them. Database triggers (see the migrations) refuse UPDATE and DELETE on the log and the tree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.clock import Clock, as_utc
from govcred.core.merkle import leaf_hash
from govcred.core.orm import audit_log, audit_pending
from govcred.core.repository.held import execute_rows

#: The columns an entry's leaf commits to, in the canonical JSON.
HASHED = ("seq", "at", "actor", "role", "action", "object_type", "object_id", "outcome", "details", "request_id")


def canonical_entry(row: Mapping[str, Any]) -> bytes:
    """The bytes an entry's leaf hashes: JSON with sorted keys, no spaces, UTF-8 text as is, the
    time in UTC with microseconds. Changing it orphans every checkpoint already published."""
    fields = {name: row[name] for name in HASHED}
    fields["at"] = as_utc(fields["at"]).isoformat(timespec="microseconds")
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_leaf_hash(row: Mapping[str, Any]) -> bytes:
    """RFC 9162 leaf hash of an entry: SHA-256(0x00 || canonical JSON)."""
    return leaf_hash(canonical_entry(row))


def leaf_mac(key: bytes, leaf: bytes) -> str:
    """HMAC-SHA256 of a leaf hash under the audit key (``Secrets.audit_key``)."""
    return hmac.new(key, leaf, hashlib.sha256).hexdigest()


#: built once (no statement construction per entry); with a list of rows SQLAlchemy runs it as
#: multi-row INSERT ... RETURNING batches, seqs in the rows' order
_INSERT_RETURNING_SEQ = sa.insert(audit_log).returning(audit_log.c.seq, sort_by_parameter_order=True)
#: for many entries whose seqs are only put into ``audit_pending``, where their order does not
#: matter: without sort_by_parameter_order SQLAlchemy sends multi-row INSERTs; with it, having
#: no sentinel column to match the rows, it sends one statement per entry
_INSERT_MANY_RETURNING_SEQS = sa.insert(audit_log).returning(audit_log.c.seq)
_INSERT_MANY = sa.insert(audit_log)
_LAST_SEQ = sa.select(sa.func.coalesce(sa.func.max(audit_log.c.seq), 0))
#: every entry past a seq into the pending queue, in one statement
_PENDING_AFTER = sa.insert(audit_pending).from_select(
    ["seq"], sa.select(audit_log.c.seq).where(audit_log.c.seq > sa.bindparam("after"))
)


class AuditLog:
    """Audit entries for one unit of work."""

    def __init__(self, session: Session, clock: Clock):
        self._session = session
        self._clock = clock
        #: entries appended while held (:meth:`hold`), written together by :meth:`release`
        self._held: list[dict[str, Any]] | None = None

    def hold(self) -> None:
        """Collect the entries appended from now on; :meth:`release` writes them with one
        executemany into each table. For set-based work (a batch of decisions): an entry's
        ``seq`` is assigned by the database at release, so :meth:`append` returns ``None`` while
        held. Nothing else changes: the checkpointer integrates them like any other entries."""
        self._held = []

    def release(self) -> None:
        rows, self._held = self._held or [], None
        if not rows:
            return
        s = self._session
        if s.get_bind().dialect.name == "sqlite":
            # one writer at a time (BEGIN IMMEDIATE), and AUTOINCREMENT seqs only grow: every
            # entry past the last seq read here is one of these. So the entries go in as one
            # plain executemany (core.repository.held.execute_rows) and into the pending queue
            # with one INSERT ... SELECT, instead of multi-row INSERT ... RETURNING batches
            # whose seqs are then sent back one row each
            after = s.execute(_LAST_SEQ).scalar_one()
            execute_rows(s, _INSERT_MANY, rows)
            s.execute(_PENDING_AFTER, {"after": after})
            return
        seqs = s.execute(_INSERT_MANY_RETURNING_SEQS, rows).scalars().all()
        s.execute(sa.insert(audit_pending), [{"seq": seq} for seq in seqs])

    def append(
        self,
        *,
        actor: str,
        role: str,
        action: str,
        object_type: str,
        object_id: str,
        outcome: str = "success",
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> int | None:
        """Add one entry; returns its ``seq`` (``None`` while held). Never put raw personal
        data in details."""
        row = {
            "at": self._clock.now(),
            "actor": actor,
            "role": role,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "outcome": outcome,
            "details": dict(details or {}),
            "request_id": request_id,
        }
        if self._held is not None:
            self._held.append(row)
            return None
        seq = self._session.execute(_INSERT_RETURNING_SEQ, row).scalar_one()
        self._session.execute(sa.insert(audit_pending).values(seq=seq))
        return seq
