"""bearer tokens for residents: api_tokens.resident_id, officer_id nullable

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("officer_id", existing_type=sa.String(length=36), nullable=True)
        batch.add_column(sa.Column("resident_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(op.f("fk_api_tokens_resident_id_residents"), "residents", ["resident_id"], ["id"])
        batch.create_index(op.f("ix_api_tokens_resident_id"), ["resident_id"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE officer_id IS NULL")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(op.f("ix_api_tokens_resident_id"))
        batch.drop_constraint(op.f("fk_api_tokens_resident_id_residents"), type_="foreignkey")
        batch.drop_column("resident_id")
        batch.alter_column("officer_id", existing_type=sa.String(length=36), nullable=False)
