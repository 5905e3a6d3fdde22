"""audit log as a Merkle tree with signed checkpoints; no audit_head row

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:00:00

The hash chain locked one ``audit_head`` row in every write transaction. Entries now take a
database-assigned ``seq`` and queue in ``audit_pending``; the checkpointer puts them into
``audit_tree`` (RFC 9162 leaf hashes) and signs checkpoints kept outside the database. The
entries already written are queued, so the first checkpoint after the upgrade covers them.
Downgrade rebuilds the chain (prev_hash, hash, audit_head) over every entry in ``seq`` order.
"""

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ENTRY_COLUMNS = ("at", "actor", "role", "action", "object_type", "object_id", "outcome", "details", "request_id")
GENESIS = "0" * 64


def _entry_columns() -> list[sa.Column]:
    return [
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
    ]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _append_only(table: str) -> None:
    """``table`` refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL), as audit_log does."""
    if _sqlite():
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION govcred_audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION govcred_audit_append_only()"
        )


def _drop_append_only(table: str) -> None:
    if _sqlite():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


def _indexes(table: str) -> list[str]:
    """The CREATE INDEX statements of ``table``'s own indexes (not its primary key), to make
    them again on the table that replaces it (later revisions add some: 0007's reports)."""
    bind = op.get_bind()
    if _sqlite():
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
    else:
        sql = (
            "SELECT indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))"
        )
    return list(bind.execute(sa.text(sql), {"t": table}).scalars())


def upgrade() -> None:
    if _sqlite():
        # SQLite cannot add AUTOINCREMENT to a column: copy into a new table.
        _drop_append_only("audit_log")
        op.create_table(
            "audit_log_v2",
            sa.Column("seq", sa.Integer(), nullable=False),
            *_entry_columns(),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
            sqlite_autoincrement=True,
        )
        columns = ", ".join(("seq", *ENTRY_COLUMNS))
        op.execute(f"INSERT INTO audit_log_v2 ({columns}) SELECT {columns} FROM audit_log ORDER BY seq")
        indexes = _indexes("audit_log")
        op.drop_table("audit_log")
        op.rename_table("audit_log_v2", "audit_log")
        for statement in indexes:
            op.execute(statement)
        _append_only("audit_log")
    else:
        op.drop_column("audit_log", "prev_hash")
        op.drop_column("audit_log", "hash")
        op.execute("CREATE SEQUENCE audit_log_seq_seq OWNED BY audit_log.seq")
        op.execute("SELECT setval('audit_log_seq_seq', coalesce(max(seq), 0) + 1, false) FROM audit_log")
        op.execute("ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq_seq')")
    op.drop_table("audit_head")
    op.create_table(
        "audit_pending",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_pending")),
    )
    op.execute("INSERT INTO audit_pending (seq) SELECT seq FROM audit_log")
    op.create_table(
        "audit_tree",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_audit_tree")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_tree_seq")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_origin",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("log_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_origin")),
    )
    _append_only("audit_tree")


def _chain(rows) -> list[dict]:
    """The 0001 hash chain over ``rows`` (in seq order), renumbered 1..n: that format has no gaps."""
    out, prev = [], GENESIS
    for n, row in enumerate(rows, start=1):
        at = row["at"]
        at = at.astimezone(dt.UTC).replace(tzinfo=None) if at.tzinfo else at
        fields = {name: row[name] for name in ENTRY_COLUMNS}
        fields["seq"] = n
        fields["at"] = at.isoformat(timespec="microseconds") + "+00:00"
        if isinstance(fields["details"], str):
            fields["details"] = json.loads(fields["details"])
        canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(prev.encode() + b"|" + canonical.encode()).hexdigest()
        out.append({**fields, "at": row["at"], "seq": n, "prev_hash": prev, "hash": digest})
        prev = digest
    return out


def downgrade() -> None:
    bind = op.get_bind()
    _drop_append_only("audit_tree")
    op.drop_table("audit_origin")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_tree")
    op.drop_table("audit_pending")
    typed = {"at": sa.DateTime(timezone=True), "details": sa.JSON()}
    entries = sa.table("audit_log", sa.column("seq"), *(sa.column(c, typed.get(c)) for c in ENTRY_COLUMNS))
    rows = [dict(r) for r in bind.execute(sa.select(entries).order_by(entries.c.seq)).mappings()]
    chained = _chain(rows)
    indexes = _indexes("audit_log")
    _drop_append_only("audit_log")
    if not _sqlite():
        op.execute("ALTER TABLE audit_log ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE audit_log_seq_seq")
    op.drop_table("audit_log")
    old = op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        *_entry_columns(),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    if chained:
        op.bulk_insert(old, chained)
    for statement in indexes:
        op.execute(statement)
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    if chained:
        op.bulk_insert(head, [{"id": 1, "seq": chained[-1]["seq"], "hash": chained[-1]["hash"]}])
    _append_only("audit_log")
