"""Signing keys can be revoked: when, and why (``govcred keys revoke KID --compromised``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

A revoked key leaves the published JWKS and is listed under its ``revoked_keys`` instead, so
verifiers refuse its tokens (KEY_REVOKED); the reason stays here and in the audit log.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_keys") as batch:
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revocation_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("revocation_reason")
        batch.drop_column("revoked_at")
