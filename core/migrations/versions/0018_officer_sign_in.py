"""Officer sign-in on every channel: bearer tokens that idle out and remember the last factor,
clerks exempted from TOTP by name, demo accounts marked, and the shared rate-limit counters.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

Demo accounts are the officers ``govcred init`` (actor ``system``) and ``govcred demo``
(actor ``demo``) created; their creation is in the audit log, so existing rows are marked
from it and production mode can refuse them at start-up.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("officers") as batch:
        batch.add_column(sa.Column("totp_exempt", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE officers SET demo = TRUE WHERE id IN (SELECT object_id FROM audit_log "
        "WHERE action = 'officer.created' AND actor IN ('system', 'demo'))"
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("factor_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE api_tokens SET last_used_at = created_at")
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limit_counters")),
    )
    op.create_index("ix_rate_limit_counters_expires_at", "rate_limit_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_counters_expires_at", table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("factor_at")
        batch.drop_column("last_used_at")
    with op.batch_alter_table("officers") as batch:
        batch.drop_column("demo")
        batch.drop_column("totp_exempt")
