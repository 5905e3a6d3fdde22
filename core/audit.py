"""Append-only, hash-chained audit log (等保 2.0 安全审计; security checklist W-12).

Each entry's ``hash`` = SHA-256(prev_hash | canonical JSON of the entry). Entries are
written in the same transaction as the change they record; the single ``audit_head`` row is
locked for the append, so ``seq`` is gap-free and the chain linear even with many writers.
Database triggers (see the migration) refuse UPDATE and DELETE on ``audit_log``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from govcred.core.clock import Clock, as_utc
from govcred.core.orm import audit_head, audit_log

GENESIS = "0" * 64


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"|" + _canonical(entry)).hexdigest()


def _hashed_fields(
    seq: int,
    at: dt.datetime,
    actor: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    details: dict[str, Any],
    request_id: str | None,
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": as_utc(at).isoformat(timespec="microseconds"),
        "actor": actor,
        "role": role,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "outcome": outcome,
        "details": details,
        "request_id": request_id,
    }


class AuditLog:
    """Audit entries for one unit of work."""

    def __init__(self, session: Session, clock: Clock):
        self._session = session
        self._clock = clock

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
    ) -> int:
        """Add one entry to the chain; returns its ``seq``. Never put raw personal data in details."""
        s = self._session
        head = s.execute(
            sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
        ).first()
        if head is None:
            s.execute(sa.insert(audit_head).values(id=1, seq=0, hash=GENESIS))
            prev_seq, prev_hash = 0, GENESIS
        else:
            prev_seq, prev_hash = head
        seq = prev_seq + 1
        at = self._clock.now()
        details = dict(details or {})
        fields_ = _hashed_fields(seq, at, actor, role, action, object_type, object_id, outcome, details, request_id)
        h = entry_hash(prev_hash, fields_)
        s.execute(
            sa.insert(audit_log).values(
                seq=seq,
                at=at,
                actor=actor,
                role=role,
                action=action,
                object_type=object_type,
                object_id=object_id,
                outcome=outcome,
                details=details,
                request_id=request_id,
                prev_hash=prev_hash,
                hash=h,
            )
        )
        s.execute(sa.update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=h))
        return seq


@dataclass
class ChainReport:
    entries: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Recompute the chain; report edited entries, gaps (deleted entries) and a cut tail."""
    report = ChainReport()
    prev_hash, expected_seq = GENESIS, 1
    last_seq = 0
    offset_seq = 0
    while True:
        rows = (
            session.execute(
                sa.select(audit_log).where(audit_log.c.seq > offset_seq).order_by(audit_log.c.seq).limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for r in rows:
            report.entries += 1
            if r["seq"] != expected_seq:
                report.problems.append(
                    {
                        "seq": expected_seq,
                        "problem": "missing",
                        "message": f"entries {expected_seq}..{r['seq'] - 1} are missing",
                    }
                )
            if r["prev_hash"] != prev_hash:
                report.problems.append(
                    {
                        "seq": r["seq"],
                        "problem": "broken_link",
                        "message": "prev_hash does not match the previous entry",
                    }
                )
            fields_ = _hashed_fields(
                r["seq"],
                r["at"],
                r["actor"],
                r["role"],
                r["action"],
                r["object_type"],
                r["object_id"],
                r["outcome"],
                r["details"],
                r["request_id"],
            )
            if entry_hash(r["prev_hash"], fields_) != r["hash"]:
                report.problems.append(
                    {"seq": r["seq"], "problem": "modified", "message": "entry content does not match its hash"}
                )
            prev_hash, expected_seq, last_seq = r["hash"], r["seq"] + 1, r["seq"]
        offset_seq = rows[-1]["seq"]
    head = session.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        report.problems.append(
            {
                "seq": head.seq,
                "problem": "truncated",
                "message": f"the chain head says seq {head.seq} but the log ends at {last_seq}",
            }
        )
    return report
