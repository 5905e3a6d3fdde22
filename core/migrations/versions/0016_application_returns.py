"""补正: the application state ``returned`` and each return's items.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_OLD = "state IN ('draft', 'submitted', 'accepted', 'approved', 'rejected', 'withdrawn')"
_NEW = "state IN ('draft', 'submitted', 'accepted', 'approved', 'rejected', 'withdrawn', 'returned')"


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint("ck_applications_state", type_="check")
        batch.create_check_constraint(op.f("ck_applications_state"), _NEW)
    op.create_table(
        "application_returns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("returned_by", sa.String(length=36), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resubmitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resubmitted_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_application_returns_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["returned_by"], ["officers.id"], name=op.f("fk_application_returns_returned_by_officers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_returns")),
    )
    op.create_index(op.f("ix_application_returns_application_id"), "application_returns", ["application_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_application_returns_application_id"), table_name="application_returns")
    op.drop_table("application_returns")
    # applications returned and never resubmitted go back to accepted: the old states have no 补正
    op.execute("UPDATE applications SET state = 'accepted' WHERE state = 'returned'")
    with op.batch_alter_table("applications") as batch:
        batch.drop_constraint("ck_applications_state", type_="check")
        batch.create_check_constraint(op.f("ck_applications_state"), _OLD)
