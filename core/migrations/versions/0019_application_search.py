"""Officer search: an application is found by its 办件编号, by the applicant's phone (a blind
index, as every phone) and by permit number.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

The reference is derived from the id (core/reference.py), so it is filled here for every
stored row. The phone index needs the blind-index key and the credential type that reads the
phone out of the encrypted document, neither of which a migration has: rows keep NULL until
``govcred db upgrade`` (or ``init``) fills them right after migrating
(core/services/search_indexes.py).
"""

import sqlalchemy as sa
from alembic import op

from govcred.core.reference import reference_of

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    # plain ADD COLUMN on both backends (no table rebuild: applications is referenced)
    op.add_column("applications", sa.Column("reference", sa.String(length=14), nullable=True))
    op.add_column("applications", sa.Column("phone_index", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    table = sa.table("applications", sa.column("id", sa.String), sa.column("reference", sa.String))
    # by primary-key order, past the last batch: each batch is an index range, not a rescan
    last = ""
    while (
        ids := conn.execute(sa.select(table.c.id).where(table.c.id > last).order_by(table.c.id).limit(_BATCH))
        .scalars()
        .all()
    ):
        conn.execute(
            sa.update(table).where(table.c.id == sa.bindparam("app_id")).values(reference=sa.bindparam("ref")),
            [{"app_id": app_id, "ref": reference_of(app_id)} for app_id in ids],
        )
        last = ids[-1]
    op.create_index(op.f("ix_applications_reference"), "applications", ["reference"], unique=False)
    op.create_index(op.f("ix_applications_phone_index"), "applications", ["phone_index"], unique=False)
    op.create_index(op.f("ix_applications_permit_no"), "applications", ["permit_no"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_applications_permit_no"), table_name="applications")
    op.drop_index(op.f("ix_applications_phone_index"), table_name="applications")
    op.drop_index(op.f("ix_applications_reference"), table_name="applications")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop a table that
    # attachments, decisions and credentials reference
    op.execute("ALTER TABLE applications DROP COLUMN phone_index")
    op.execute("ALTER TABLE applications DROP COLUMN reference")
