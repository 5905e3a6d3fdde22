"""permit lifecycle: reminder preferences, sweep checkpoints, the sweep's index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 02:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_credentials_status_expires_at", "credentials", ["status", "expires_at"])
    op.create_table(
        "permit_reminders",
        sa.Column("permit_no", sa.String(length=64), nullable=False),
        sa.Column("reminders", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("permit_no", name=op.f("pk_permit_reminders")),
    )
    op.create_table(
        "lifecycle_sweeps",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("suspended", sa.Integer(), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("last_credential_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lifecycle_sweeps")),
    )


def downgrade() -> None:
    op.drop_index("ix_credentials_status_expires_at", table_name="credentials")
    op.drop_table("lifecycle_sweeps")
    op.drop_table("permit_reminders")
