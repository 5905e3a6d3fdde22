"""review queue index: (state, deadline, created_at, id), the keyset order of a queue page

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

The queue loaded every accepted application; a page now reads at most limit + 1 rows in
this order, found by this index.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_applications_queue", "applications", ["state", "deadline", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_applications_queue", table_name="applications")
