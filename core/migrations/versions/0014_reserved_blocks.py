"""reserved blocks: status-list indices and permit numbers reserved a block at a time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Indices used to be drawn one at a time at random over the whole list, so a block of the new
allocator (core/allocation.py) could hold an index an existing credential already has: the
lists in use are closed (``full``) and new credentials go to a new list. Permit numbers drawn
before are excluded block by block by the allocator itself.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reserved_blocks",
        sa.Column("space", sa.String(length=64), nullable=False),
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("space", "block", name=op.f("pk_reserved_blocks")),
    )
    op.execute('UPDATE status_lists SET "full" = true WHERE allocated > 0')  # FULL is a PostgreSQL keyword


def downgrade() -> None:
    op.drop_table("reserved_blocks")
