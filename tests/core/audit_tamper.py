"""What someone who can write the database file does to hide a change: drop the append-only
triggers, edit or delete entries, recompute the leaf hashes (and, holding the master secret,
the MACs) so that the database agrees with itself."""

from __future__ import annotations

import sqlalchemy as sa

from govcred.core.audit import entry_leaf_hash, leaf_mac
from govcred.core.orm import audit_log, audit_tree

TABLES = ("audit_log", "audit_tree")


def drop_append_only(engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            else:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")


def recompute_tree(engine, mac_key: bytes | None = None) -> None:
    """Every leaf hash recomputed from the entries as they read now; the MACs too when the
    master secret's audit key is given."""
    with engine.begin() as conn:
        for row in conn.execute(sa.select(audit_log)).mappings().all():
            leaf = entry_leaf_hash(row)
            values = {"leaf_hash": leaf.hex()}
            if mac_key is not None:
                values["mac"] = leaf_mac(mac_key, leaf)
            conn.execute(sa.update(audit_tree).where(audit_tree.c.seq == row["seq"]).values(**values))
