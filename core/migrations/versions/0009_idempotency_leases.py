"""Idempotency keys become short leases committed with the change they guard.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

A request now holds its key by a random lease token for a few seconds instead of a 24-hour
in-flight row; the token is what the business transaction checks before it commits. Keys
left in flight by the old code (a crash between its three transactions) would otherwise
answer 409 for a day: they are released at once (their change, if any, committed without an
answer, which the old code could not tell apart anyway).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("lease_token", sa.String(32), nullable=True))
    op.execute("UPDATE idempotency_keys SET expires_at = created_at WHERE state = 'in_flight'")


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_keys WHERE state = 'in_flight'")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("lease_token")
