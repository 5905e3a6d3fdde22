"""Officers' contact phones, for the morning alert and deadline escalations.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officer_contacts",
        sa.Column("officer_id", sa.String(36), sa.ForeignKey("officers.id"), primary_key=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("officer_contacts")
