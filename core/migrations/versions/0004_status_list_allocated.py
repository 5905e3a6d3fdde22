"""Count the indices each status list has handed out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

Allocation used to COUNT the list's credentials on every issuance, a cost that grows with
every permit ever issued; the counter is kept in the list row instead, locked by the same
transaction that stores the credential.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("status_lists") as batch:
        batch.add_column(sa.Column("allocated", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE status_lists SET allocated = "
        "(SELECT count(*) FROM credentials WHERE credentials.status_list_id = status_lists.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("status_lists") as batch:
        batch.drop_column("allocated")
