"""zhejiang_residence: person records (registrations, existing permits) keyed by a blind index

Revision ID: zj0001
Revises:
Create Date: 2026-11-30 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "zj0001"
down_revision = None
branch_labels = ("zhejiang_residence",)
depends_on = "0001"


def upgrade() -> None:
    op.create_table(
        "zj_registrations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("declared", sa.Date(), nullable=False),
        sa.Column("ended", sa.Date(), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zj_registrations")),
    )
    op.create_index(op.f("ix_zj_registrations_person_key"), "zj_registrations", ["person_key"], unique=False)
    op.create_table(
        "zj_permits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("issuer_division", sa.String(length=12), nullable=False),
        sa.Column("issued", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zj_permits")),
    )
    op.create_index(op.f("ix_zj_permits_person_key"), "zj_permits", ["person_key"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_zj_permits_person_key"), table_name="zj_permits")
    op.drop_table("zj_permits")
    op.drop_index(op.f("ix_zj_registrations_person_key"), table_name="zj_registrations")
    op.drop_table("zj_registrations")
