"""``govcred audit verify``: the audit log checked against the signed checkpoints its witnesses
hold, so that what the database says about itself is not the only evidence.

Every entry's leaf hash is recomputed from its content and the Merkle root recomputed at the
size of every checkpoint read. Each problem names the first bad position (1-based, in tree
order) and the entry's ``seq`` where there is one:

``modified``            an entry's content no longer hashes to the leaf the tree recorded
``missing``             entries gone from the middle of the log
``truncated``           the log ends before the checkpoint's tree size (its tail deleted)
``rewritten``           an entry rewritten with its leaf hash recomputed: found at the entry by
                        the leaf's MAC (keyed by the master secret, which the database does not
                        hold); with the MAC recomputed too (the secret stolen), by the root a
                        checkpoint signed (the bad entry lies between the last matching
                        checkpoint and this one)
``rolled_back``         the whole database is an older copy: it ends exactly at one of its own,
                        witnessed, checkpoints and a witness holds a newer one (a restored backup)
``missing_checkpoint``  no witness holds a checkpoint although the log has been checkpointed,
                        or entries have waited for one longer than twice
                        ``audit_checkpoint_seconds`` (is the checkpointer running?)
``bad_checkpoint``      a witness holds a note this issuer's key did not sign
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from govcred.core.audit import entry_leaf_hash, leaf_mac
from govcred.core.audit_checkpoints import origin_of
from govcred.core.checkpoint_note import Checkpoint, CheckpointError, CheckpointKey, load_key_or_none
from govcred.core.merkle import Frontier
from govcred.core.orm import audit_checkpoints, audit_log, audit_origin, audit_tree


@dataclass
class AuditReport:
    entries: int = 0
    tree_size: int = 0
    pending: int = 0
    checkpoint: dict[str, Any] | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    witnesses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str, position: int | None, seq: int | None, message: str) -> None:
        self.problems.append({"position": position, "seq": seq, "problem": problem, "message": message})

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "tree_size": self.tree_size,
            "pending": self.pending,
            "checkpoint": self.checkpoint,
            "problems": sorted(self.problems, key=_first),
            "witnesses": self.witnesses,
        }


def _first(problem: dict[str, Any]) -> tuple:
    return (problem["position"] is None, problem["position"] or 0, problem["seq"] or 0)


@dataclass(frozen=True)
class Witnessed:
    checkpoint: Checkpoint
    witness: str
    note: str


def read_checkpoints(key: CheckpointKey, witnesses, origin: str, report: AuditReport) -> list[Witnessed]:
    """Every checkpoint of ``origin`` the witnesses hold whose signature verifies."""
    found: list[Witnessed] = []
    for witness in witnesses:
        info: dict[str, Any] = {"name": witness.name, "checkpoints": 0, "error": None}
        report.witnesses.append(info)
        try:
            notes = witness.checkpoints(origin)
        except Exception as exc:  # an unreachable witness is reported, the others still count
            info["error"] = str(exc)
            continue
        for note in notes:
            try:
                checkpoint = key.open(note, origin)
            except CheckpointError as exc:
                report.add("bad_checkpoint", None, None, f"{witness.name}: {exc.message}")
                continue
            found.append(Witnessed(checkpoint, witness.name, note))
            info["checkpoints"] += 1
    return found


def verify_log(
    session,
    *,
    key: CheckpointKey | None,
    mac_key: bytes,
    witnesses,
    issuer: str,
    now: dt.datetime,
    grace: dt.timedelta,
    batch=5000,
) -> AuditReport:
    report = AuditReport()
    report.entries = session.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
    log_id = session.execute(sa.select(audit_origin.c.log_id).where(audit_origin.c.id == 1)).scalar()
    witnessed: list[Witnessed] = []
    if log_id and key is None:
        report.add(
            "missing_checkpoint",
            1,
            None,
            "the checkpoint signing key (secrets/audit-checkpoint.ed25519) is gone: no checkpoint can be checked",
        )
    elif log_id:
        witnessed = read_checkpoints(key, witnesses, origin_of(issuer, log_id), report)
    latest = max(witnessed, key=lambda w: (w.checkpoint.tree_size, w.checkpoint.at), default=None)
    if latest is not None:
        c = latest.checkpoint
        report.checkpoint = {
            "tree_size": c.tree_size,
            "root_hash": c.root_hash.hex(),
            "at": c.at.isoformat(),
            "witness": latest.witness,
        }
    _check_tree(session, report, witnessed, mac_key, batch)
    _check_length(session, report, latest, witnessed)
    _check_coverage(session, report, latest, log_id, now, grace)
    return report


def _check_tree(session, report: AuditReport, witnessed: list[Witnessed], mac_key: bytes, batch: int) -> None:
    """Stream the tree in order: recompute leaves and the root at every witnessed size."""
    roots: dict[int, list[Witnessed]] = {}
    for w in witnessed:
        roots.setdefault(w.checkpoint.tree_size, []).append(w)
    sizes = sorted(roots)
    frontier, matched, rewritten = Frontier(), 0, False
    gone_from: tuple[int, int] | None = None  # (position, seq) where a run of deleted entries began

    def compare() -> None:
        nonlocal matched, rewritten
        while sizes and sizes[0] == frontier.size:
            size = sizes.pop(0)
            root = frontier.root()
            if any(w.checkpoint.root_hash == root for w in roots[size]):
                if not rewritten:
                    matched = size
                continue
            if not rewritten:
                rewritten = True
                w = roots[size][0]
                report.add(
                    "rewritten",
                    matched + 1,
                    None,
                    f"the entries no longer give the root that the checkpoint of {w.checkpoint.at.isoformat()} "
                    f"({w.witness}) signed for {size} entries: an entry at positions {matched + 1}..{size} was "
                    "rewritten",
                )

    compare()  # a checkpoint of the empty tree
    columns = [
        audit_tree.c.idx,
        audit_tree.c.seq.label("tree_seq"),
        audit_tree.c.leaf_hash,
        audit_tree.c.mac,
        *audit_log.c,
    ]
    after = -1
    while True:
        rows = (
            session.execute(
                sa.select(*columns)
                .select_from(audit_tree.outerjoin(audit_log, audit_log.c.seq == audit_tree.c.seq))
                .where(audit_tree.c.idx > after)
                .order_by(audit_tree.c.idx)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            break
        for row in rows:
            position = row["idx"] + 1
            if row["idx"] != frontier.size:
                report.add(
                    "missing",
                    frontier.size + 1,
                    None,
                    f"tree positions {frontier.size + 1}..{row['idx']} are gone from the database",
                )
                report.tree_size = row["idx"]
                return  # the tree cannot be rebuilt past a hole: every later root would differ
            if row["seq"] is None:
                gone_from = gone_from or (position, row["tree_seq"])
                leaf = bytes.fromhex(row["leaf_hash"])  # go on with the recorded leaf: blame only the gap
            else:
                if gone_from:
                    _gone(report, gone_from, position - 1, "missing")
                    gone_from = None
                leaf = entry_leaf_hash(row)
                if leaf.hex() != row["leaf_hash"]:
                    rewritten = True  # the checkpoint roots differ from here on for this reason
                    report.add(
                        "modified",
                        position,
                        row["seq"],
                        "the entry's content does not match the leaf hash the tree recorded",
                    )
                elif not hmac.compare_digest(leaf_mac(mac_key, leaf), row["mac"]) and not rewritten:
                    rewritten = True  # found at the entry itself: the checkpoints' coarser range is not needed
                    report.add(
                        "rewritten",
                        position,
                        row["seq"],
                        "the entry and its leaf hash were rewritten together: the leaf's MAC (keyed by the "
                        "master secret, which the database does not hold) no longer matches",
                    )
            frontier.append(leaf)
            compare()
        after = rows[-1]["idx"]
    report.tree_size = frontier.size
    if gone_from:
        _gone(report, gone_from, frontier.size, "truncated")


def _gone(report: AuditReport, start: tuple[int, int], end: int, kind: str) -> None:
    position, seq = start
    report.add(kind, position, seq, f"entries at positions {position}..{end} (seq {seq} on) were deleted")


def _check_length(session, report: AuditReport, latest: Witnessed | None, witnessed: list[Witnessed]) -> None:
    """The log shorter than the newest checkpoint: a cut tail, or an older copy of the database."""
    if latest is None or latest.checkpoint.tree_size <= report.tree_size:
        return
    n, newest = report.tree_size, latest.checkpoint
    own = (
        session.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.tree_size.desc()).limit(1))
        .mappings()
        .first()
    )
    vouched = {(w.checkpoint.tree_size, w.checkpoint.root_hash.hex()) for w in witnessed}
    if own is not None and own["tree_size"] == n and (n, own["root_hash"]) in vouched:
        report.add(
            "rolled_back",
            n + 1,
            None,
            f"this database is an older copy: it ends with its checkpoint of {own['at'].isoformat()} ({n} entries), "
            f"but {latest.witness} holds the checkpoint of {newest.at.isoformat()} with {newest.tree_size}: "
            f"positions {n + 1}..{newest.tree_size} are not here (a restored backup?)",
        )
        return
    report.add(
        "truncated",
        n + 1,
        None,
        f"the log ends at position {n}, but the checkpoint of {newest.at.isoformat()} ({latest.witness}) "
        f"covers {newest.tree_size} entries: positions {n + 1}..{newest.tree_size} were deleted",
    )


def _check_coverage(session, report: AuditReport, latest: Witnessed | None, log_id, now, grace) -> None:
    """Entries no witnessed checkpoint covers: fine while new, a problem once overdue."""
    covered = latest.checkpoint.tree_size if latest else 0
    outside_tree = (
        sa.select(sa.func.count(), sa.func.min(audit_log.c.seq), sa.func.min(audit_log.c.at))
        .select_from(audit_log.outerjoin(audit_tree, audit_tree.c.seq == audit_log.c.seq))
        .where(audit_tree.c.idx.is_(None))
    )
    pending, first_pending, oldest_pending = session.execute(outside_tree).one()
    report.pending = pending
    beyond = session.execute(
        sa.select(audit_tree.c.idx, audit_log.c.seq, audit_log.c.at)
        .select_from(audit_tree.join(audit_log, audit_log.c.seq == audit_tree.c.seq))
        .where(audit_tree.c.idx >= covered)
        .order_by(audit_tree.c.idx)
        .limit(1)
    ).first()
    already = any(p["problem"] == "missing_checkpoint" for p in report.problems)
    if latest is None and log_id is not None and report.entries and not already:
        report.add(
            "missing_checkpoint",
            1,
            None,
            "this log has been checkpointed, but no witness holds a checkpoint of it "
            "(the witness file deleted or moved, or every witness unreachable)",
        )
        return
    candidates = []
    if beyond is not None:
        candidates.append((beyond.at, beyond.idx + 1, beyond.seq))
    if pending:
        candidates.append((oldest_pending, None, first_pending))
    overdue = [c for c in candidates if c[0] is not None and c[0] < now - grace]
    if overdue:
        at, position, seq = min(overdue, key=lambda c: c[0])
        report.add(
            "missing_checkpoint",
            position if position is not None else covered + 1,
            seq,
            f"entries since {at.isoformat()} have no checkpoint after {int(grace.total_seconds())} s "
            "(is the checkpointer running? `govcred audit checkpoint` writes one now)",
        )


def verify_audit(uow, settings, clock, witnesses, mac_key: bytes) -> AuditReport:
    """:func:`verify_log` with what a runtime has: its unit of work, settings, clock, witnesses
    and the audit MAC key (``Secrets.audit_key``)."""
    with uow(readonly=True) as unit:
        return verify_log(
            unit.session,
            key=load_key_or_none(settings.data_dir),
            mac_key=mac_key,
            witnesses=witnesses,
            issuer=settings.issuer,
            now=clock.now(),
            grace=dt.timedelta(seconds=2 * settings.audit_checkpoint_seconds),
        )
