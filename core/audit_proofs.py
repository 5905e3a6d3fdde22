"""``govcred audit prove SEQ``: an RFC 9162 inclusion proof that one entry, as it reads now, is
in the tree a witnessed checkpoint signed -- what an auditor checks without the database."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa

from govcred.core.audit import canonical_entry, entry_leaf_hash
from govcred.core.audit_checkpoints import origin_of
from govcred.core.audit_verify import AuditReport, read_checkpoints
from govcred.core.checkpoint_note import CheckpointKey
from govcred.core.exceptions import Conflict, NotFound
from govcred.core.merkle import Frontier, inclusion_ranges, verify_inclusion
from govcred.core.orm import audit_log, audit_origin, audit_tree


def _range_root(session, lo: int, hi: int, batch: int = 20_000) -> bytes:
    frontier, after = Frontier(), lo - 1
    while after < hi - 1:
        leaves = session.execute(
            sa.select(audit_tree.c.idx, audit_tree.c.leaf_hash)
            .where(audit_tree.c.idx > after, audit_tree.c.idx < hi)
            .order_by(audit_tree.c.idx)
            .limit(batch)
        ).all()
        if not leaves:
            break
        for leaf in leaves:
            frontier.append(bytes.fromhex(leaf.leaf_hash))
        after = leaves[-1].idx
    return frontier.root()


def prove(session, seq: int, *, key: CheckpointKey, witnesses, issuer: str) -> dict[str, Any]:
    entry = session.execute(sa.select(audit_log).where(audit_log.c.seq == seq)).mappings().first()
    if entry is None:
        raise NotFound(f"没有序号为 {seq} 的审计记录 (no audit entry {seq})", code="AUDIT_ENTRY_NOT_FOUND")
    idx = session.execute(sa.select(audit_tree.c.idx).where(audit_tree.c.seq == seq)).scalar()
    log_id = session.execute(sa.select(audit_origin.c.log_id).where(audit_origin.c.id == 1)).scalar()
    report = AuditReport()
    witnessed = read_checkpoints(key, witnesses, origin_of(issuer, log_id), report) if log_id else []
    latest = max(witnessed, key=lambda w: (w.checkpoint.tree_size, w.checkpoint.at), default=None)
    if idx is None or latest is None or idx >= latest.checkpoint.tree_size:
        raise Conflict(
            f"审计记录 {seq} 尚无检查点 (entry {seq} is not covered by a witnessed checkpoint yet: "
            "run `govcred audit checkpoint`)",
            code="AUDIT_NOT_CHECKPOINTED",
        )
    checkpoint = latest.checkpoint
    leaf = entry_leaf_hash(entry)
    path = [_range_root(session, lo, hi) for lo, hi in inclusion_ranges(idx, checkpoint.tree_size)]
    if not verify_inclusion(leaf, idx, checkpoint.tree_size, path, checkpoint.root_hash):
        raise Conflict(
            f"审计记录 {seq} 与检查点不符 (entry {seq} does not prove against the checkpoint: run `govcred audit verify`)",
            code="AUDIT_PROOF_FAILED",
        )
    return {
        "seq": seq,
        "leaf_index": idx,
        "tree_size": checkpoint.tree_size,
        "entry": canonical_entry(entry).decode(),
        "leaf_hash": leaf.hex(),
        "inclusion_path": [p.hex() for p in path],
        "root_hash": checkpoint.root_hash.hex(),
        "root_hash_base64": base64.b64encode(checkpoint.root_hash).decode(),
        "checkpoint": latest.note,
        "witness": latest.witness,
    }
