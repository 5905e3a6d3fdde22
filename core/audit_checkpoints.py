"""The checkpointer: puts pending audit entries into the Merkle tree and publishes a signed
checkpoint of the tree to every witness.

One transaction integrates the pending entries (in ``seq`` order: the order they reached the
queue, whatever order their transactions committed in), extends the tree from the last
checkpoint's frontier, and stores the new checkpoint's copy; only after it commits is the
note sent to the witnesses, so a witness never holds a checkpoint of a tree the database does
not have. A kill -9 anywhere leaves either the old state or the new one; a checkpoint a witness
missed is superseded by the next. Concurrent checkpointers take turns: SQLite has one writer
(BEGIN IMMEDIATE), PostgreSQL takes a transaction-scoped advisory lock.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa

from govcred.core.audit import entry_leaf_hash, leaf_mac
from govcred.core.checkpoint_note import Checkpoint, CheckpointKey
from govcred.core.clock import Clock
from govcred.core.merkle import Frontier
from govcred.core.orm import audit_checkpoints, audit_log, audit_origin, audit_pending, audit_tree
from govcred.core.outages import outage_kind

log = logging.getLogger("govcred.audit")

#: pg_advisory_xact_lock key of the checkpointer ("govcred audit" as an int)
ADVISORY_LOCK = 0x676F76617564
#: entries integrated per transaction at most (a backlog takes several checkpoints)
BATCH = 20_000


def origin_of(issuer: str, log_id: str) -> str:
    """The checkpoint origin line: the issuer's host and the log's id (C2SP: a schema-less URL)."""
    return f"{urlsplit(issuer).netloc or issuer}/govcred-audit/{log_id}"


@dataclass
class Published:
    checkpoint: Checkpoint
    note: str
    new_entries: int
    witness_errors: list[str] = field(default_factory=list)


class Checkpointer:
    def __init__(self, uow, settings, clock: Clock, witnesses: Callable[[], list], mac_key: bytes):
        self._uow = uow
        self._mac_key = mac_key
        self._settings = settings
        self._clock = clock
        self._witnesses = witnesses
        self._key: CheckpointKey | None = None

    @property
    def key(self) -> CheckpointKey:
        if self._key is None:
            self._key = CheckpointKey.load_or_create(self._settings.data_dir)
        return self._key

    def origin(self, session) -> str | None:
        log_id = session.execute(sa.select(audit_origin.c.log_id).where(audit_origin.c.id == 1)).scalar()
        return origin_of(self._settings.issuer, log_id) if log_id else None

    def pending(self) -> int:
        with self._uow(readonly=True) as uow:
            return uow.session.execute(sa.select(sa.func.count()).select_from(audit_pending)).scalar_one()

    def checkpoint(self) -> Published:
        """Integrate what is pending (all of it, in batches) and publish a checkpoint now."""
        integrated, result = 0, None
        while True:
            result = self._integrate_and_sign()
            integrated += result.new_entries
            if result.new_entries < BATCH:
                break
        result.new_entries = integrated
        for witness in self._witnesses():
            try:
                witness.publish(result.checkpoint.origin, result.note)
            except Exception as exc:  # one witness down must not stop the others
                log.warning("audit checkpoint %s not stored by %s: %s", result.checkpoint.tree_size, witness.name, exc)
                result.witness_errors.append(f"{witness.name}: {exc}")
        return result

    def _integrate_and_sign(self) -> Published:
        key = self.key
        now = self._clock.now()
        with self._uow() as uow:
            s = uow.session
            if s.get_bind().dialect.name == "postgresql":
                s.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
            origin = self.origin(s)
            if origin is None:
                log_id = str(uuid.uuid4())
                s.execute(sa.insert(audit_origin).values(id=1, log_id=log_id, created_at=now))
                origin = origin_of(self._settings.issuer, log_id)
            frontier = self._frontier(s)
            queued = (
                s.execute(
                    sa.select(audit_pending.c.seq.label("queued"), *audit_log.c)
                    .select_from(audit_pending.outerjoin(audit_log, audit_log.c.seq == audit_pending.c.seq))
                    .order_by(audit_pending.c.seq)
                    .limit(BATCH)
                )
                .mappings()
                .all()
            )
            leaves = []
            for entry in queued:
                if entry["seq"] is None:
                    continue  # a queued entry whose row is gone: nothing to vouch for
                leaf = entry_leaf_hash(entry)
                leaves.append(
                    {
                        "idx": frontier.size,
                        "seq": entry["seq"],
                        "leaf_hash": leaf.hex(),
                        "mac": leaf_mac(self._mac_key, leaf),
                    }
                )
                frontier.append(leaf)
            if leaves:
                s.execute(sa.insert(audit_tree), leaves)
            done = [r["queued"] for r in queued]
            for i in range(0, len(done), 1000):  # by their seq, never a range: a smaller one may commit later
                s.execute(sa.delete(audit_pending).where(audit_pending.c.seq.in_(done[i : i + 1000])))
            checkpoint = Checkpoint(origin, frontier.size, frontier.root(), now)
            note = key.sign(checkpoint)
            values = {
                "root_hash": checkpoint.root_hash.hex(),
                "at": now,
                "frontier": [n.hex() for n in frontier.nodes],
                "note": note,
            }
            stored = s.execute(
                sa.update(audit_checkpoints).where(audit_checkpoints.c.tree_size == frontier.size).values(**values)
            ).rowcount
            if not stored:
                s.execute(sa.insert(audit_checkpoints).values(tree_size=frontier.size, **values))
            uow.commit()
        return Published(checkpoint, note, len(queued))

    @staticmethod
    def _frontier(session) -> Frontier:
        last = session.execute(
            sa.select(audit_checkpoints.c.tree_size, audit_checkpoints.c.frontier, audit_checkpoints.c.root_hash)
            .order_by(audit_checkpoints.c.tree_size.desc())
            .limit(1)
        ).first()
        if last is None:
            return Frontier()
        frontier = Frontier(last.tree_size, [bytes.fromhex(n) for n in last.frontier])
        if frontier.root().hex() != last.root_hash:
            raise RuntimeError("the stored audit frontier does not match its checkpoint: run govcred audit verify")
        return frontier


class BackgroundCheckpointer:
    """A thread that checkpoints at least every ``audit_checkpoint_entries`` entries or
    ``audit_checkpoint_seconds`` seconds while entries are pending (``govcred serve``,
    ``govcred worker``)."""

    def __init__(self, checkpointer: Checkpointer, settings, poll_seconds: float = 1.0):
        self._checkpointer = checkpointer
        self._every = settings.audit_checkpoint_entries
        self._seconds = settings.audit_checkpoint_seconds
        self._poll = min(poll_seconds, self._seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="govcred-audit-checkpointer", daemon=True)

    def start(self) -> BackgroundCheckpointer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        waited = 0.0
        while not self._stop.wait(self._poll):
            waited += self._poll
            try:
                pending = self._checkpointer.pending()
                if pending and (pending >= self._every or waited >= self._seconds):
                    self._checkpointer.checkpoint()
                    waited = 0.0
            except Exception as exc:  # the database restarting must not end the thread
                if kind := outage_kind(exc):  # an outage or a full disk passes: one line, no traceback
                    log.warning("audit checkpoint: %s (%s); trying again", kind, type(exc).__name__)
                else:
                    log.exception("audit checkpoint failed; trying again")
                self._stop.wait(min(30.0, self._seconds))  # back off
